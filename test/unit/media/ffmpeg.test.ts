import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureType } from '../../../common/failures';
import { extractFrame, extractLastFrame, probeMedia, verifyClip } from '../../../activities/ffmpeg';
import { imageDiff } from '../../../activities/images';
import {
  countFrames,
  decodeFrame,
  expectNonRetryable,
  ffmpegCli,
  leftoverTempFiles,
  makeClip,
  makeSine,
  makeTempDir,
  removeDir,
} from './helpers';

let dir: string;
let clipA: string; // 2 s
let clipB: string; // 3 s
let sine: string; // 1.5 s

beforeAll(async () => {
  dir = await makeTempDir();
  [clipA, clipB, sine] = await Promise.all([
    makeClip(path.join(dir, 'a.mp4'), { seconds: 2 }),
    makeClip(path.join(dir, 'b.mp4'), { seconds: 3 }),
    makeSine(path.join(dir, 'sine.wav'), 1.5),
  ]);
});

afterAll(() => removeDir(dir));

const out = (name: string) => path.join(dir, name);

describe('probeMedia', () => {
  test('reports duration, size, codec, pixel format, frame rate and container of an H.264 clip', async () => {
    const info = await probeMedia(clipA);
    expect(info).toMatchObject({
      path: clipA,
      durationSeconds: 2,
      width: 320,
      height: 180,
      videoCodec: 'h264',
      pixFmt: 'yuv420p',
      fps: 24,
    });
    expect(info.formatName).toContain('mp4');
    expect(info.audioCodec).toBeUndefined();
  });

  test('reports the audio stream of a clip that has one', async () => {
    const withAudio = await makeClip(out('with-audio.mp4'), { seconds: 1, audioSeconds: 1 });
    const info = await probeMedia(withAudio);
    expect(info.audioCodec).toBe('aac');
    expect(info.audioDurationSeconds).toBeCloseTo(1, 1);
  });

  test('refuses a text file, a WAV and a missing file with MediaCheckFailed naming the file', async () => {
    const text = out('notes.mp4');
    await fs.writeFile(text, 'not a video at all');
    await expectNonRetryable(probeMedia(text), FailureType.MediaCheckFailed, /notes\.mp4.*cannot read/);
    await expectNonRetryable(probeMedia(sine), FailureType.MediaCheckFailed, /sine\.wav/);
    await expectNonRetryable(probeMedia(out('nowhere.mp4')), FailureType.MediaCheckFailed, /nowhere\.mp4/);
  });

  test('refuses an MP4 that holds only audio as not a video', async () => {
    const audioOnly = out('audio-only.mp4');
    const withAudio = await makeClip(out('for-audio-only.mp4'), { seconds: 1, audioSeconds: 1 });
    await ffmpegCli(['-v', 'error', '-i', withAudio, '-vn', '-c', 'copy', audioOnly]);
    await expectNonRetryable(probeMedia(audioOnly), FailureType.MediaCheckFailed, /audio-only\.mp4: not a video/);
  });
});

describe('verifyClip', () => {
  test('returns the probe of a clip that matches what was ordered', async () => {
    const info = await verifyClip(clipB, { durationSeconds: 3, width: 320, height: 180, codec: 'h264' });
    expect(info.durationSeconds).toBe(3);
  });

  test('names every difference: size and duration', async () => {
    await expectNonRetryable(
      verifyClip(clipA, { durationSeconds: 5, width: 1280, height: 720, codec: 'h264' }),
      FailureType.MediaCheckFailed,
      /a\.mp4: size 320x180, expected 1280x720; duration 2 s, expected 5 ± 0\.5 s/
    );
  });
});

describe('extractLastFrame', () => {
  test('writes exactly the last frame of a full decode, which differs from the second-to-last', async () => {
    const frames = await countFrames(clipB);
    expect(frames).toBe(72);
    const [last, fullLast, secondToLast] = await Promise.all([
      extractLastFrame(clipB, out('last.png')).then(() => out('last.png')),
      decodeFrame(clipB, frames - 1, out('full-last.png')),
      decodeFrame(clipB, frames - 2, out('full-second-to-last.png')),
    ]);
    expect(await imageDiff(last, fullLast)).toBeLessThan(1);
    expect(await imageDiff(fullLast, secondToLast)).toBeGreaterThan(1);
    expect(await imageDiff(last, secondToLast)).toBeGreaterThan(1);
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test('works on a clip shorter than the one second it decodes', async () => {
    const short = await makeClip(out('short.mp4'), { seconds: 0.5 });
    await extractLastFrame(short, out('short-last.png'));
    const fullLast = await decodeFrame(short, (await countFrames(short)) - 1, out('short-full-last.png'));
    expect(await imageDiff(out('short-last.png'), fullLast)).toBeLessThan(1);
  });

  test('refuses a file that is not a video with MediaCheckFailed', async () => {
    await expectNonRetryable(extractLastFrame(sine, out('x.png')), FailureType.MediaCheckFailed, /sine\.wav/);
  });
});

describe('extractFrame', () => {
  test('writes the frame shown at a given time as PNG, or as JPEG for a .jpg name', async () => {
    await extractFrame(clipB, 1, out('at-1s.png'));
    const decoded = await decodeFrame(clipB, 24, out('frame-24.png'));
    expect(await imageDiff(out('at-1s.png'), decoded)).toBeLessThan(1);

    await extractFrame(clipB, 1, out('at-1s.jpg'));
    const head = (await fs.readFile(out('at-1s.jpg'))).subarray(0, 3);
    expect([...head]).toEqual([0xff, 0xd8, 0xff]);
  });

  test('refuses a time outside the clip', async () => {
    await expectNonRetryable(extractFrame(clipA, 2.5, out('late.png')), FailureType.BadInput, /2\.5 s of a 2 s/);
  });
});
