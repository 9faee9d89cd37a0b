import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';

const run = promisify(execFile);

/** A fresh temporary directory; remove it with {@link removeDir}. */
export function makeTempDir(prefix = 'reelflow-media-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Removes a directory made by {@link makeTempDir}. */
export function removeDir(dir: string): Promise<void> {
  return fs.rm(dir, { recursive: true, force: true });
}

/** Runs the ffmpeg CLI directly (fixtures only; the code under test goes through activities/ffmpeg). */
export async function ffmpegCli(args: string[]): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-hide_banner', '-y', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stderr;
}

/** How a fixture clip is encoded; the defaults are quick, `PROVIDER_LIKE` is what the emulator writes. */
export interface ClipEncoding {
  preset?: string;
  crf?: number;
  /** Frames between keyframes (x264's default is 250). */
  keyint?: number;
  /** A video filter applied to the source, e.g. `scroll=h=0.02` so that every frame differs from the next. */
  vf?: string;
}

/** x264 settings of the emulator's clips: veryfast, CRF 23, a keyframe every second at 24 fps. */
export const PROVIDER_LIKE: ClipEncoding = { preset: 'veryfast', crf: 23, keyint: 24 };

/** Writes an H.264 yuv420p MP4 from a lavfi source (testsrc2 changes on every frame), with an AAC track if asked. */
export async function makeClip(
  file: string,
  opts: { seconds: number; size?: string; fps?: number; source?: string; audioSeconds?: number } & ClipEncoding
): Promise<string> {
  const { seconds, size = '320x180', fps = 24, source = 'testsrc2', audioSeconds, preset = 'ultrafast' } = opts;
  const audio = audioSeconds ? ['-f', 'lavfi', '-i', `sine=f=220:d=${audioSeconds}`, '-c:a', 'aac'] : [];
  const encoding = [
    ...(opts.crf !== undefined ? ['-crf', String(opts.crf)] : []),
    // A keyframe every `keyint` frames and nowhere else, as the emulator writes them.
    ...(opts.keyint !== undefined ? ['-g', String(opts.keyint), '-sc_threshold', '0'] : []),
    ...(opts.vf !== undefined ? ['-vf', opts.vf] : []),
  ];
  await ffmpegCli([
    ...['-v', 'error', '-f', 'lavfi', '-i', `${source}=s=${size}:r=${fps}:d=${seconds}`],
    ...audio,
    ...['-c:v', 'libx264', '-preset', preset, ...encoding, '-pix_fmt', 'yuv420p', file],
  ]);
  return file;
}

/** Seconds of the keyframes (sync samples) of a video's first stream, from its packet list. */
export async function keyframeTimes(video: string): Promise<number[]> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', video],
  ]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.split(','))
    .filter(([, flags]) => flags?.includes('K'))
    .map(([pts]) => Number(pts))
    .sort((a, b) => a - b);
}

/**
 * Per-frame SSIM (0..1, 1 = identical) of video `a` against video `b` shifted by `shift` frames: entry n compares
 * frame n of `a` with frame n + shift of `b` (undefined where `b` has no such frame). Frames counted by decoding.
 */
export async function ssimByFrame(a: string, b: string, shift = 0): Promise<Array<number | undefined>> {
  const statsDir = await makeTempDir('reelflow-ssim-');
  try {
    const stats = path.join(statsDir, 'ssim.log');
    const skip = (n: number) => (n > 0 ? `trim=start_frame=${n},setpts=PTS-STARTPTS,` : '');
    await ffmpegCli([
      ...['-v', 'error', '-i', a, '-i', b, '-lavfi'],
      `[0:v]${skip(-shift)}null[x];[1:v]${skip(shift)}null[y];[x][y]ssim=stats_file=${stats}`,
      ...['-f', 'null', '-'],
    ]);
    const values = (await fs.readFile(stats, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => Number(/All:([\d.]+)/.exec(line)?.[1]));
    // Line k compares a[k + max(0, -shift)] with b[k + max(0, shift)].
    const out: Array<number | undefined> = [];
    values.forEach((v, k) => (out[k + Math.max(0, -shift)] = v));
    return out;
  } finally {
    await removeDir(statsDir);
  }
}

/** What ffmpeg prints at `-v error` while decoding the whole file: empty for a clean stream. */
export async function decodeErrors(video: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', video, '-f', 'null', '-'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stderr.trim();
}

/** Writes a sine-wave WAV (amplitude 1/8, about -18 dBFS peak). */
export async function makeSine(file: string, seconds: number): Promise<string> {
  await ffmpegCli(['-v', 'error', '-f', 'lavfi', '-i', `sine=f=440:d=${seconds}`, file]);
  return file;
}

/** Decodes the whole video and writes frame number `index` (0-based) as PNG. */
export async function decodeFrame(video: string, index: number, outPng: string): Promise<string> {
  await ffmpegCli(['-v', 'error', '-i', video, '-vf', `select=eq(n\\,${index})`, '-frames:v', '1', outPng]);
  return outPng;
}

/** Number of video frames, counted by decoding. */
export async function countFrames(video: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_frames', '-select_streams', 'v:0'],
    ...['-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', video],
  ]);
  return Number(stdout.trim());
}

/** Stream facts straight from the ffprobe CLI, independent of the module under test. */
export async function probeStreams(file: string): Promise<Array<Record<string, string>>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: Array<Record<string, string>> }).streams;
}

/** Peak level in dBFS of the audio between `from` and `from + seconds`. */
export async function maxVolume(file: string, from: number, seconds: number): Promise<number> {
  const stderr = await ffmpegCli([
    ...['-ss', String(from), '-t', String(seconds), '-i', file],
    ...['-map', '0:a', '-af', 'volumedetect', '-f', 'null', '-'],
  ]);
  const m = /max_volume: (-?[\d.]+|-inf) dB/.exec(stderr);
  if (!m) throw new Error(`no volume in: ${stderr}`);
  return m[1] === '-inf' ? -Infinity : Number(m[1]);
}

/** Types of the top-level MP4 boxes, in file order. */
export async function topLevelAtoms(file: string): Promise<string[]> {
  const data = await fs.readFile(file);
  const atoms: string[] = [];
  for (let offset = 0; offset + 8 <= data.length;) {
    let size = data.readUInt32BE(offset);
    atoms.push(data.toString('latin1', offset + 4, offset + 8));
    if (size === 1) size = Number(data.readBigUInt64BE(offset + 8));
    if (size === 0) break;
    offset += size;
  }
  return atoms;
}

/** Awaits a rejection and checks it is a non-retryable ApplicationFailure of `type` whose message matches. */
export async function expectNonRetryable(promise: Promise<unknown>, type: string, message?: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failure = err as ApplicationFailure;
  expect(failure.type).toBe(type);
  expect(failure.nonRetryable).toBe(true);
  if (message) expect(failure.message).toMatch(message);
}

/** Awaits a rejection and checks it is retryable: a plain Error, not a non-retryable ApplicationFailure. */
export async function expectRetryable(promise: Promise<unknown>, message?: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  expect(err).toBeInstanceOf(Error);
  expect(err instanceof ApplicationFailure && err.nonRetryable).toBe(false);
  if (message) expect((err as Error).message).toMatch(message);
}

/** Names left in a directory that look like temporary files of the media modules. */
export async function leftoverTempFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((name) => name.startsWith('.reelflow-'));
}
