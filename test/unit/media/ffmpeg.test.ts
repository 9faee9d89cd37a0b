import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureType } from '../../../common/failures';
import { extractFrame, extractLastFrame, probeMedia, stitchClips, verifyClip } from '../../../activities/ffmpeg';
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
  maxVolume,
  probeStreams,
  removeDir,
  topLevelAtoms,
} from './helpers';

const FRAME = 1 / 24;

let dir: string;
let clipA: string; // 2 s
let clipB: string; // 3 s
let clipC: string; // 3 s, a different picture
let sine: string; // 1.5 s, shorter than any stitch: must loop

beforeAll(async () => {
  dir = await makeTempDir();
  [clipA, clipB, clipC, sine] = await Promise.all([
    makeClip(path.join(dir, 'a.mp4'), { seconds: 2 }),
    makeClip(path.join(dir, 'b.mp4'), { seconds: 3 }),
    makeClip(path.join(dir, 'c.mp4'), { seconds: 3, source: 'testsrc' }),
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

describe('stitchClips', () => {
  test('cross-fades: duration is the sum minus one cross-fade per cut, H.264/AAC with fast start at the clip size', async () => {
    const xf = 0.5;
    const result = await stitchClips({ clips: [clipA, clipB, clipC], outPath: out('xfade.mp4'), crossfadeSeconds: xf });
    expect(result.method).toBe('reencode');
    const expected = 2 + 3 + 3 - 2 * xf;
    expect(Math.abs(result.durationSeconds - expected)).toBeLessThanOrEqual(FRAME);

    const streams = await probeStreams(out('xfade.mp4'));
    const video = streams.find((s) => s.codec_type === 'video')!;
    const audio = streams.find((s) => s.codec_type === 'audio')!;
    expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 320, height: 180 });
    expect(Math.abs(Number(video.duration) - expected)).toBeLessThanOrEqual(FRAME);
    expect(audio.codec_name).toBe('aac');
    expect(Math.abs(Number(audio.duration) - expected)).toBeLessThan(0.05);

    const atoms = await topLevelAtoms(out('xfade.mp4'));
    expect(atoms.indexOf('moov')).toBeGreaterThanOrEqual(0);
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test('joins alike clips without cross-fade by stream copy and adds a silent AAC track', async () => {
    const result = await stitchClips({ clips: [clipA, clipB, clipA], outPath: out('copy.mp4'), crossfadeSeconds: 0 });
    expect(result.method).toBe('stream-copy');
    expect(result.durationSeconds).toBeCloseTo(7, 2);
    expect(await countFrames(out('copy.mp4'))).toBe(7 * 24);

    const streams = await probeStreams(out('copy.mp4'));
    expect(streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
    expect(Number(streams[1].duration)).toBeCloseTo(7, 1);
    // AAC codes digital silence at about -91 dBFS.
    expect(await maxVolume(out('copy.mp4'), 0, 7)).toBeLessThan(-80);
    const atoms = await topLevelAtoms(out('copy.mp4'));
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test('stream-copies clips whose own audio outlasts their video without holes in the video timeline', async () => {
    const talky = await makeClip(out('talky.mp4'), { seconds: 2, audioSeconds: 2.3 });
    const result = await stitchClips({ clips: [talky, talky], outPath: out('talky-joined.mp4'), crossfadeSeconds: 0 });
    expect(result.method).toBe('stream-copy');
    expect(result.durationSeconds).toBeCloseTo(4, 2);
    expect(await countFrames(out('talky-joined.mp4'))).toBe(96);
  });

  test('lays a shorter audio track under the whole copy-joined video: looped, at the asked volume, faded out', async () => {
    const result = await stitchClips({
      clips: [clipA, clipB],
      outPath: out('copy-audio.mp4'),
      crossfadeSeconds: 0,
      audio: { path: sine, volume: 0.5 },
      fadeOutSeconds: 1,
    });
    expect(result.method).toBe('stream-copy');
    const streams = await probeStreams(out('copy-audio.mp4'));
    const audio = streams.find((s) => s.codec_type === 'audio')!;
    expect(Math.abs(Number(audio.duration) - 5)).toBeLessThan(0.05);
    // lavfi's sine peaks at about -18 dBFS; half the volume is 6 dB less, and it keeps playing after 1.5 s (looped).
    expect(await maxVolume(out('copy-audio.mp4'), 2, 1.5)).toBeCloseTo(-24, 0);
    expect(await maxVolume(out('copy-audio.mp4'), 4.9, 0.1)).toBeLessThan(-40);
  });

  test('lays the audio track under a cross-faded video, trimmed to its length', async () => {
    const result = await stitchClips({
      clips: [clipB, clipC],
      outPath: out('xfade-audio.mp4'),
      crossfadeSeconds: 1,
      audio: { path: sine, volume: 1 },
    });
    expect(result.method).toBe('reencode');
    expect(Math.abs(result.durationSeconds - 5)).toBeLessThanOrEqual(FRAME);
    const audio = (await probeStreams(out('xfade-audio.mp4'))).find((s) => s.codec_type === 'audio')!;
    expect(Math.abs(Number(audio.duration) - result.durationSeconds)).toBeLessThan(0.05);
  });

  test('re-encodes clips that cannot be copied (different size) to the first clip size', async () => {
    const big = await makeClip(out('big.mp4'), { seconds: 1, size: '640x360' });
    const result = await stitchClips({ clips: [clipA, big], outPath: out('mixed.mp4'), crossfadeSeconds: 0 });
    expect(result).toMatchObject({ method: 'reencode', width: 320, height: 180 });
    expect(Math.abs(result.durationSeconds - 3)).toBeLessThanOrEqual(FRAME);
  });

  test('cross-fades clips of different frame rates at the first clip rate without extra frames', async () => {
    const fast = await makeClip(out('30fps.mp4'), { seconds: 2, fps: 30 });
    const result = await stitchClips({
      clips: [clipA, fast, clipB],
      outPath: out('mixed-fps.mp4'),
      crossfadeSeconds: 0.5,
    });
    expect(Math.abs(result.durationSeconds - 6)).toBeLessThanOrEqual(FRAME);
    expect(await countFrames(out('mixed-fps.mp4'))).toBe(6 * 24);
  });

  test('stitches a single clip', async () => {
    const copied = await stitchClips({ clips: [clipA], outPath: out('single.mp4'), crossfadeSeconds: 0.5 });
    expect(copied.method).toBe('stream-copy');
    expect(copied.durationSeconds).toBeCloseTo(2, 2);
  });

  test('refuses a cross-fade as long as the shortest clip, a negative one, and no clips', async () => {
    await expectNonRetryable(
      stitchClips({ clips: [clipB, clipA], outPath: out('bad.mp4'), crossfadeSeconds: 2 }),
      FailureType.BadInput,
      /cross-fade of 2 s must be shorter than the shortest clip \(.*a\.mp4: 2 s\)/
    );
    await expectNonRetryable(
      stitchClips({ clips: [clipA, clipB], outPath: out('bad.mp4'), crossfadeSeconds: -1 }),
      FailureType.BadInput,
      /cross-fade must be 0 or more/
    );
    await expectNonRetryable(
      stitchClips({ clips: [], outPath: out('bad.mp4'), crossfadeSeconds: 0 }),
      FailureType.BadInput,
      /no clips/
    );
    await expect(fs.access(out('bad.mp4'))).rejects.toThrow();
  });

  test('refuses an audio track that is not audio with BadInput', async () => {
    await expectNonRetryable(
      stitchClips({
        clips: [clipA],
        outPath: out('bad-audio.mp4'),
        crossfadeSeconds: 0,
        audio: { path: clipA, volume: 1 },
      }),
      FailureType.BadInput,
      /a\.mp4: not an audio file/
    );
  });

  test('reports progress, and on abort kills ffmpeg and leaves no output behind', async () => {
    const hd = await makeClip(out('hd.mp4'), { seconds: 4, size: '1280x720' });
    const abortDir = path.join(dir, 'abort');
    const controller = new AbortController();
    const fractions: number[] = [];
    const started = Date.now();
    const stitching = stitchClips({
      clips: [hd, hd],
      outPath: path.join(abortDir, 'aborted.mp4'),
      crossfadeSeconds: 1,
      signal: controller.signal,
      onProgress: (fraction) => {
        fractions.push(fraction);
        if (fraction > 0) controller.abort(new Error('stop requested'));
      },
    });
    await expect(stitching).rejects.toThrow('stop requested');
    expect(fractions.some((f) => f > 0 && f < 1)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await fs.readdir(abortDir)).toEqual([]);
  });
});
