import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureType } from '../../../common/failures';
import { stitchClips, type StitchResult } from '../../../activities/stitch';
import {
  countFrames,
  decodeErrors,
  expectNonRetryable,
  keyframeTimes,
  leftoverTempFiles,
  makeClip,
  makeSine,
  makeTempDir,
  maxVolume,
  probeStreams,
  PROVIDER_LIKE,
  removeDir,
  ssimByFrame,
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

describe('stitchClips: hard cuts and the full cross-fade', () => {
  test('cross-fades: duration is the sum minus one cross-fade per cut, H.264/AAC with fast start at the clip size', async () => {
    const xf = 0.5;
    const result = await stitchClips({ clips: [clipA, clipB, clipC], outPath: out('xfade.mp4'), crossfadeSeconds: xf });
    // These fixtures have one keyframe each and other x264 settings than the emulator's: no smart way for them.
    expect(result.method).toBe('full-crossfade');
    const expected = 2 + 3 + 3 - 2 * xf;
    expect(result.reencodedSeconds).toBeCloseTo(expected, 5);
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
    expect(result.method).toBe('copy');
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
    expect(result.method).toBe('copy');
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
    expect(result.method).toBe('copy');
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
    expect(result.method).toBe('full-crossfade');
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
    expect(copied.method).toBe('copy');
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
      onProgress: (fraction: number) => {
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

describe('stitchClips: smart cross-fade', () => {
  // Three 3 s clips encoded as the emulator encodes (a keyframe every second), 0.5 s fades: each clip is copied from
  // a keyframe to the end of the last group of B-frames before its fade, and only the rest of clip i and the first
  // second of clip i+1 (to its keyframe) are re-encoded around each fade. The pictures
  // pan a few pixels a frame, so a frame is far from its neighbours and a timing slip of one frame shows.
  const PAN = 'scroll=h=0.02';
  const xf = 0.5;
  const CLIP_FRAMES = 72;
  const FADE_FRAMES = 12;
  let provider: string[];
  let smart: StitchResult;
  let full: StitchResult;

  beforeAll(async () => {
    provider = await Promise.all(
      ['testsrc2', 'testsrc', 'testsrc2'].map((source, i) =>
        makeClip(out(`provider-${i}.mp4`), { seconds: 3, source, vf: PAN, ...PROVIDER_LIKE })
      )
    );
    smart = await stitchClips({
      clips: provider,
      outPath: out('smart.mp4'),
      crossfadeSeconds: xf,
      audio: { path: sine, volume: 1 },
    });
    full = await stitchClips({
      clips: provider,
      outPath: out('full.mp4'),
      crossfadeSeconds: xf,
      audio: { path: sine, volume: 1 },
      crossfadeMethod: 'full',
    });
  });

  test('fixtures have a keyframe every second', async () => {
    expect(await keyframeTimes(provider[0])).toEqual([0, 1, 2]);
  });

  test('re-encodes only the windows around the fades, and the output is as long as the full re-encode to the frame', async () => {
    expect(smart.method).toBe('smart-crossfade');
    expect(smart.fallbackReason).toBeUndefined();
    // Two windows of (0.5 s and up to one group of B-frames) + 1 s - 0.5 s of fade each.
    expect(smart.reencodedSeconds).toBeGreaterThanOrEqual(2);
    expect(smart.reencodedSeconds).toBeLessThan(2.5);
    expect(full).toMatchObject({ method: 'full-crossfade', fallbackReason: 'a full re-encode was asked for' });
    const frames = 3 * CLIP_FRAMES - 2 * FADE_FRAMES;
    expect(await countFrames(out('full.mp4'))).toBe(frames);
    expect(await countFrames(out('smart.mp4'))).toBe(frames);
    expect(Math.abs(smart.durationSeconds - full.durationSeconds)).toBeLessThan(0.001);
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test('the frames at every cut and in every fade match the full re-encode at the same index, not its neighbours', async () => {
    // Global frame numbers: fade k starts where clip k has 0.5 s left; the copy before it stops a few frames before
    // it; the window runs to clip k+1's keyframe at 1 s. Clip k's keyframe at 2 s is where the window's decode starts.
    const indexes: number[] = [];
    for (let k = 0; k < 2; k++) {
      const clipStart = k * (CLIP_FRAMES - FADE_FRAMES);
      const fadeStart = clipStart + CLIP_FRAMES - FADE_FRAMES;
      const windowEnd = fadeStart + 24;
      indexes.push(clipStart + 47, clipStart + 48, fadeStart - 4, fadeStart - 3, fadeStart - 2, fadeStart - 1);
      indexes.push(fadeStart, fadeStart + FADE_FRAMES / 2, windowEnd - 1, windowEnd);
    }
    const [before, same, after] = await Promise.all(
      [-1, 0, 1].map((shift) => ssimByFrame(out('smart.mp4'), out('full.mp4'), shift))
    );
    expect(same).toHaveLength(3 * CLIP_FRAMES - 2 * FADE_FRAMES);
    // Aligned frames differ by encoding loss only (about 0.98); a neighbour is about 0.6.
    for (const n of indexes) {
      expect({ n, same: same[n]! > 0.95, neighbours: Math.max(before[n]!, after[n]!) < 0.9 }).toEqual({
        n,
        same: true,
        neighbours: true,
      });
    }
    // And every other frame is the full re-encode's too, up to encoding loss.
    expect(Math.min(...same.map((v) => v!))).toBeGreaterThan(0.95);
  });

  test('decodes without a single error, as H.264/AAC with fast start', async () => {
    expect(await decodeErrors(out('smart.mp4'))).toBe('');
    const streams = await probeStreams(out('smart.mp4'));
    expect(streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
    const atoms = await topLevelAtoms(out('smart.mp4'));
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
  });

  test('lays the audio track under the whole video: same start, same length as the video and as the full one', async () => {
    const [video, audio] = await probeStreams(out('smart.mp4'));
    const fullAudio = (await probeStreams(out('full.mp4')))[1];
    expect(Number(audio.start_time)).toBeCloseTo(Number(video.start_time), 3);
    expect(Math.abs(Number(audio.duration) - Number(video.duration))).toBeLessThan(0.05);
    expect(Math.abs(Number(audio.duration) - Number(fullAudio.duration))).toBeLessThan(0.001);
    // The 1.5 s track loops: it still plays inside the second window, at about -18 dBFS.
    expect(await maxVolume(out('smart.mp4'), 5, 0.5)).toBeGreaterThan(-25);
  });

  test('re-encodes a clip with no keyframe between its fades whole, inside one window spanning it', async () => {
    const lone = await makeClip(out('one-keyframe.mp4'), {
      seconds: 3,
      vf: PAN,
      ...PROVIDER_LIKE,
      keyint: 250,
    });
    const clips = [provider[0], lone, provider[2]];
    const merged = await stitchClips({ clips, outPath: out('merged.mp4'), crossfadeSeconds: xf });
    const reference = await stitchClips({
      clips,
      outPath: out('merged-full.mp4'),
      crossfadeSeconds: xf,
      crossfadeMethod: 'full',
    });
    expect(merged.method).toBe('smart-crossfade');
    // The end of clip 1 (0.5 s and up to a group of B-frames) + all 3 s of clip 2 + 1 s of clip 3, less two fades.
    expect(merged.reencodedSeconds).toBeGreaterThanOrEqual(3.5);
    expect(merged.reencodedSeconds).toBeLessThan(4);
    expect(await countFrames(out('merged.mp4'))).toBe(await countFrames(out('merged-full.mp4')));
    expect(Math.abs(merged.durationSeconds - reference.durationSeconds)).toBeLessThan(0.001);
    const [before, same] = await Promise.all(
      [-1, 0].map((shift) => ssimByFrame(out('merged.mp4'), out('merged-full.mp4'), shift))
    );
    for (const n of [47, 48, 66, 100, 126, 143, 144]) {
      expect({ n, same: same[n]! > 0.95, before: before[n]! < 0.9 }).toEqual({ n, same: true, before: true });
    }
    expect(await decodeErrors(out('merged.mp4'))).toBe('');
  });

  test('places a fade that is not a whole number of frames where the full re-encode does', async () => {
    const odd = await stitchClips({ clips: provider, outPath: out('odd.mp4'), crossfadeSeconds: 0.3 });
    await stitchClips({
      clips: provider,
      outPath: out('odd-full.mp4'),
      crossfadeSeconds: 0.3,
      crossfadeMethod: 'full',
    });
    expect(odd.method).toBe('smart-crossfade');
    const frames = await countFrames(out('odd-full.mp4'));
    expect(await countFrames(out('odd.mp4'))).toBe(frames);
    const [before, same] = await Promise.all(
      [-1, 0].map((shift) => ssimByFrame(out('odd.mp4'), out('odd-full.mp4'), shift))
    );
    for (const n of [47, 48, 64, 68, 71, 72, 78, frames - 1]) {
      expect({ n, same: same[n]! > 0.95, before: before[n]! < 0.9 }).toEqual({ n, same: true, before: true });
    }
  });

  test('falls back to the full re-encode for clips with one keyframe each, and says why', async () => {
    const sparse = await Promise.all(
      [0, 1, 2].map((i) => makeClip(out(`sparse-${i}.mp4`), { seconds: 3, ...PROVIDER_LIKE, keyint: 250 }))
    );
    expect(await keyframeTimes(sparse[0])).toEqual([0]);
    const result = await stitchClips({ clips: sparse, outPath: out('sparse.mp4'), crossfadeSeconds: xf });
    expect(result.method).toBe('full-crossfade');
    expect(result.fallbackReason).toMatch(/too few keyframes: 5\.\d\d of 8\.00 s would be re-encoded/);
    expect(result.reencodedSeconds).toBeCloseTo(8, 5);
    expect(await countFrames(out('sparse.mp4'))).toBe(3 * CLIP_FRAMES - 2 * FADE_FRAMES);
  });

  test('falls back for clips whose H.264 headers no window encoder reproduces, or of different sizes', async () => {
    const foreign = await Promise.all(
      [0, 1].map((i) => makeClip(out(`foreign-${i}.mp4`), { seconds: 3, preset: 'ultrafast', keyint: 24 }))
    );
    const headers = await stitchClips({ clips: foreign, outPath: out('foreign.mp4'), crossfadeSeconds: xf });
    expect(headers.method).toBe('full-crossfade');
    expect(headers.fallbackReason).toMatch(/no window encoder .* writes the H\.264 headers/);
    expect(await countFrames(out('foreign.mp4'))).toBe(2 * CLIP_FRAMES - FADE_FRAMES);

    const big = await makeClip(out('provider-big.mp4'), { seconds: 3, size: '640x360', ...PROVIDER_LIKE });
    const sizes = await stitchClips({ clips: [provider[0], big], outPath: out('sizes.mp4'), crossfadeSeconds: xf });
    expect(sizes).toMatchObject({ method: 'full-crossfade', width: 320, height: 180 });
    expect(sizes.fallbackReason).toBe('clip 2 is 640x360, clip 1 320x180');
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test('on abort while windows are encoded, kills ffmpeg and leaves nothing behind', async () => {
    const hd = await Promise.all(
      [0, 1].map((i) => makeClip(out(`hd-${i}.mp4`), { seconds: 3, size: '960x540', ...PROVIDER_LIKE }))
    );
    const abortDir = path.join(dir, 'abort-smart');
    const controller = new AbortController();
    const stitching = stitchClips({
      clips: hd,
      outPath: path.join(abortDir, 'aborted.mp4'),
      crossfadeSeconds: xf,
      signal: controller.signal,
      onProgress: (fraction: number) => {
        if (fraction > 0) controller.abort(new Error('stop requested'));
      },
    });
    await expect(stitching).rejects.toThrow('stop requested');
    expect(await fs.readdir(abortDir)).toEqual([]);
  });
});
