import { execFile } from 'node:child_process';
import path from 'node:path';
import ffmpeg, { type FfmpegCommand } from 'fluent-ffmpeg';
import { writeAtomically } from './atomic-write';
import { FailureType, nonRetryable } from '../common/failures';

// fluent-ffmpeg is archived upstream: this is the only module allowed to import it, so it can be swapped out. It is
// also the one place that starts ffmpeg and ffprobe for reelflow's own media (the stitch builds its commands here).

/** What ffprobe says about a video file. */
export interface MediaInfo {
  /** Absolute path of the probed file. */
  path: string;
  /** Length of the video stream in seconds (the container's when the stream has none). */
  durationSeconds: number;
  /** Coded width in pixels. */
  width: number;
  /** Coded height in pixels. */
  height: number;
  /** ffprobe codec name of the first video stream, e.g. `h264`. */
  videoCodec: string;
  /** Pixel format of the first video stream, e.g. `yuv420p`. */
  pixFmt: string;
  /** Average frames per second. */
  fps: number;
  /** Codec of the first audio stream, if any. */
  audioCodec?: string;
  /** Length of the first audio stream in seconds, if any. */
  audioDurationSeconds?: number;
  /** ffprobe's demuxer name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  formatName: string;
}

/** Options shared by the long-running operations. */
export interface RunOptions {
  /** Aborting kills the ffmpeg child and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with 0..1 as ffmpeg works, so an activity can heartbeat. */
  onProgress?: (fraction: number) => void;
}

/** What {@link verifyClip} expects of a clip. */
export interface ExpectedClip {
  /** Expected length in seconds. */
  durationSeconds: number;
  /** Expected frame width. */
  width: number;
  /** Expected frame height. */
  height: number;
  /** Expected video codec. */
  codec: 'h264';
  /** Allowed duration difference, default 0.5 s (providers round clip lengths). */
  toleranceSeconds?: number;
}

/** The demuxer forced on every MP4/MOV input. */
export const MP4_DEMUXER = 'mov';
const DEFAULT_TOLERANCE_SECONDS = 0.5;
// A packet list of a long 4k clip runs to a few MB of JSON.
const PROBE_MAX_BUFFER = 64 * 1024 * 1024;

/** Reads duration, size, codecs and frame rate of an MP4/MOV video; an unreadable file or one without video is a non-retryable MediaCheckFailed. */
export async function probeMedia(filePath: string): Promise<MediaInfo> {
  return (await probeVideo(filePath)).info;
}

/** Checks a clip against what was ordered and returns its MediaInfo; throws a non-retryable MediaCheckFailed listing every difference. */
export async function verifyClip(filePath: string, expected: ExpectedClip): Promise<MediaInfo> {
  const info = await probeMedia(filePath);
  const tolerance = expected.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const problems: string[] = [];
  if (info.videoCodec !== expected.codec) problems.push(`codec ${info.videoCodec}, expected ${expected.codec}`);
  if (info.width !== expected.width || info.height !== expected.height) {
    problems.push(`size ${info.width}x${info.height}, expected ${expected.width}x${expected.height}`);
  }
  if (Math.abs(info.durationSeconds - expected.durationSeconds) > tolerance) {
    problems.push(`duration ${round(info.durationSeconds)} s, expected ${expected.durationSeconds} ± ${tolerance} s`);
  }
  if (problems.length > 0) {
    throw nonRetryable(FailureType.MediaCheckFailed, `${info.path}: ${problems.join('; ')}`);
  }
  return info;
}

/** Writes the true last frame of a video as PNG (decoded from the last second, pixel-identical to a full decode). */
export async function extractLastFrame(videoPath: string, outPngPath: string, opts: RunOptions = {}): Promise<void> {
  const { info } = await probeVideo(videoPath);
  // `-sseof -0.1 -frames:v 1` stops one frame early; decoding the whole last second and keeping the last picture does not.
  await writeAtomically(outPngPath, (tmp) =>
    runFfmpeg(
      'extract last frame',
      {
        inputs: [{ path: info.path, options: ['-sseof', '-1', ...mp4InputOptions()] }],
        output: tmp,
        outputOptions: ['-map', '0:v:0', '-update', '1', '-q:v', '1', '-c:v', 'png', '-f', 'image2'],
      },
      { ...opts, expectedSeconds: Math.min(1, info.durationSeconds) }
    )
  );
}

/** Writes the frame shown at `atSeconds` as PNG, or JPEG when `outPath` ends in .jpg/.jpeg. */
export async function extractFrame(
  videoPath: string,
  atSeconds: number,
  outPath: string,
  opts: RunOptions = {}
): Promise<void> {
  const { info } = await probeVideo(videoPath);
  if (!Number.isFinite(atSeconds) || atSeconds < 0 || atSeconds >= info.durationSeconds) {
    throw nonRetryable(
      FailureType.BadInput,
      `${info.path}: cannot take a frame at ${atSeconds} s of a ${round(info.durationSeconds)} s video`
    );
  }
  const codec = /\.jpe?g$/i.test(outPath) ? ['-c:v', 'mjpeg', '-q:v', '2'] : ['-c:v', 'png'];
  await writeAtomically(outPath, (tmp) =>
    runFfmpeg(
      'extract frame',
      {
        inputs: [{ path: info.path, options: ['-ss', String(atSeconds), ...mp4InputOptions()] }],
        output: tmp,
        outputOptions: ['-map', '0:v:0', '-frames:v', '1', '-update', '1', ...codec, '-f', 'image2'],
      },
      opts
    )
  );
}

/** What ffprobe says about a video file, with the details a stitch needs to know whether clips can be joined. */
export interface ProbedVideo {
  info: MediaInfo;
  /** Average frame rate as ffprobe writes it, e.g. `24/1`. */
  fpsRational: string;
  sampleAspectRatio: string;
  /** sha256 of the codec's extradata (for H.264 the avcC: SPS and PPS); '' when there is none. */
  extradataHash: string;
  /** Time base of the video stream, e.g. `1/12288`. */
  timeBase: string;
  /** Index of the video stream in the file. */
  streamIndex: number;
  /** First pts of the video stream and of the whole file, in seconds (seeks count from the file's). */
  videoStartSeconds: number;
  fileStartSeconds: number;
  /** The video stream's packets, when asked for. */
  packets?: PacketList;
}

/**
 * Probes an MP4/MOV video, with the video's packet list if asked (one ffprobe either way); an unreadable file or one
 * without video is a non-retryable MediaCheckFailed.
 */
export async function probeVideo(filePath: string, opts: { packets?: boolean } = {}): Promise<ProbedVideo> {
  const abs = path.resolve(filePath);
  const data = await ffprobe(abs, mp4InputOptions(), FailureType.MediaCheckFailed, 'an MP4/MOV video', opts.packets);
  const video = data.streams.find((s) => s.codec_type === 'video');
  if (!video || !video.width || !video.height) {
    throw nonRetryable(FailureType.MediaCheckFailed, `${abs}: not a video (no video stream found)`);
  }
  const audio = data.streams.find((s) => s.codec_type === 'audio');
  const durationSeconds = positiveNumber(video.duration) ?? positiveNumber(data.format.duration);
  if (durationSeconds === undefined) {
    throw nonRetryable(FailureType.MediaCheckFailed, `${abs}: video has no duration`);
  }
  const fpsRational = validRational(video.avg_frame_rate) ?? validRational(video.r_frame_rate);
  if (!fpsRational) throw nonRetryable(FailureType.MediaCheckFailed, `${abs}: video has no frame rate`);
  return {
    info: {
      path: abs,
      durationSeconds,
      width: video.width,
      height: video.height,
      videoCodec: video.codec_name ?? 'unknown',
      pixFmt: video.pix_fmt ?? 'unknown',
      fps: round(rationalValue(fpsRational), 3),
      ...(audio && {
        audioCodec: audio.codec_name ?? 'unknown',
        audioDurationSeconds: positiveNumber(audio.duration),
      }),
      formatName: String(data.format.format_name ?? MP4_DEMUXER),
    },
    fpsRational,
    sampleAspectRatio: String(video.sample_aspect_ratio ?? '1:1'),
    extradataHash: String(video.extradata_hash ?? ''),
    timeBase: String(video.time_base ?? ''),
    streamIndex: video.index,
    videoStartSeconds: Number(video.start_time ?? 0) || 0,
    fileStartSeconds: Number(data.format.start_time ?? 0) || 0,
    ...(data.packets && { packets: packetList(abs, video, data.packets) }),
  };
}

/** A video stream's packets in decode order, with its time base and codec extradata hash. */
export interface PacketList {
  /** Time base as ffprobe writes it, e.g. `1/12288`; packet times are already converted to seconds with it. */
  timeBase: string;
  extradataHash: string;
  /** Length of the stream in seconds, as the container says. */
  durationSeconds: number;
  packets: Array<{ pts: number; dts: number; key: boolean }>;
}

/** Lists the packets of the first video stream of a local MP4 (read from the index and packet headers, no decoding). */
export async function probePackets(filePath: string): Promise<PacketList> {
  const abs = path.resolve(filePath);
  const options = [...mp4InputOptions(), '-select_streams', 'v:0'];
  const data = await ffprobe(abs, options, FailureType.MediaCheckFailed, 'an MP4/MOV video', true);
  const [stream] = data.streams;
  if (!stream) throw nonRetryable(FailureType.MediaCheckFailed, `${abs}: not a video (no video stream found)`);
  return packetList(abs, stream, data.packets ?? []);
}

function packetList(abs: string, stream: ProbeStream, packets: ProbePacket[]): PacketList {
  const tick = stream.time_base ? rationalValue(stream.time_base) : 0;
  if (!(tick > 0)) throw nonRetryable(FailureType.MediaCheckFailed, `${abs}: video stream has no time base`);
  return {
    timeBase: stream.time_base!,
    extradataHash: stream.extradata_hash ?? '',
    durationSeconds: positiveNumber(stream.duration) ?? 0,
    packets: packets
      .filter((p) => p.stream_index === undefined || p.stream_index === stream.index)
      .map((p) => {
        if (p.pts === undefined || p.dts === undefined) {
          throw nonRetryable(FailureType.MediaCheckFailed, `${abs}: a video packet has no timestamp`);
        }
        return { pts: p.pts * tick, dts: p.dts * tick, key: (p.flags ?? '').includes('K') };
      }),
  };
}

/** The parts of ffprobe's JSON this module reads. */
interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  duration?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  sample_aspect_ratio?: string;
  extradata_hash?: string;
  time_base?: string;
  start_time?: string;
}
interface ProbePacket {
  stream_index?: number;
  pts?: number;
  dts?: number;
  flags?: string;
}
interface ProbeJson {
  streams: ProbeStream[];
  format: { duration?: string; start_time?: string; format_name?: string };
  packets?: ProbePacket[];
}

function ffprobe(
  abs: string,
  inputOptions: string[],
  failureType: typeof FailureType.MediaCheckFailed,
  what: string,
  packets = false
): Promise<ProbeJson> {
  const entries = packets ? 'stream:format:packet=stream_index,pts,dts,flags' : 'stream:format';
  const args = ['-v', 'error', '-show_data_hash', 'sha256', ...inputOptions, '-show_entries', entries, '-of', 'json'];
  return new Promise((resolve, reject) => {
    execFile('ffprobe', [...args, abs], { maxBuffer: PROBE_MAX_BUFFER }, (err, stdout, stderr) => {
      if (!err) {
        const data = JSON.parse(stdout) as Partial<ProbeJson>;
        return resolve({ streams: data.streams ?? [], format: data.format ?? {}, packets: data.packets });
      }
      // No exit code: ffprobe did not run at all (not installed, killed); that is not the file's fault.
      if (typeof err.code !== 'number') return reject(err);
      // ffprobe prefixes its lines with the demuxer's address and the file name; the reason reads better without them.
      const lines = stderr
        .split('\n')
        .map((l) =>
          l
            .replace(/^\[[^\]]*\]\s*/, '')
            .replace(`${abs}: `, '')
            .trim()
        )
        .filter(Boolean);
      const reason = [...new Set(lines)].slice(-2).join('; ') || 'unreadable';
      reject(nonRetryable(failureType, `${abs}: ffprobe cannot read it as ${what} (${reason})`));
    });
  });
}

/** Every local input: files only, and only the demuxers named, so a crafted file cannot make ffmpeg open anything else. */
export function localInputOptions(demuxers: string[]): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', demuxers.join(',')];
}

/** Input options of a local MP4/MOV: files only, the mov demuxer forced. */
export function mp4InputOptions(): string[] {
  return [...localInputOptions([MP4_DEMUXER]), '-f', MP4_DEMUXER];
}

/** One ffmpeg run, as plain data: so no module but this one depends on how fluent-ffmpeg builds commands. */
export interface FfmpegJob {
  /** Inputs in order (`[0:v]` is the first); `options` go before its `-i` (a lavfi source is a "path" with `-f lavfi`). */
  inputs: Array<{ path: string; options: string[] }>;
  /** `-filter_complex` graph, if any. */
  filter?: string;
  output: string;
  outputOptions: string[];
}

/** Options of {@link runFfmpeg}. */
export interface FfmpegRunOptions extends RunOptions {
  /** Length of the output, to turn ffmpeg's time position into a fraction. */
  expectedSeconds?: number;
}

/**
 * Runs one ffmpeg child process (with `-nostdin`, terse errors), reporting progress and killing the child when
 * `signal` aborts; rejects with the last lines ffmpeg wrote.
 */
export function runFfmpeg(
  label: string,
  job: FfmpegJob,
  { signal, onProgress, expectedSeconds }: FfmpegRunOptions
): Promise<void> {
  signal?.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const cmd = build(job);
    // Global options: no stdin to block on, terse errors, machine-readable progress on stderr.
    cmd.outputOptions(['-nostdin', '-hide_banner', '-v', 'error', '-nostats']);
    if (onProgress && expectedSeconds) {
      cmd.outputOptions(['-progress', 'pipe:2', '-stats_period', '0.25']);
      cmd.on('stderr', (line: string) => {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (m) onProgress(Math.min(1, Math.max(0, Number(m[1]) / 1e6 / expectedSeconds)));
      });
    }
    const kill = () => cmd.kill('SIGKILL');
    // The process may not exist yet when the signal fires; 'start' catches that window.
    cmd.on('start', () => {
      if (signal?.aborted) kill();
    });
    signal?.addEventListener('abort', kill, { once: true });
    const done = (err?: Error) => {
      signal?.removeEventListener('abort', kill);
      if (signal?.aborted) reject(signal.reason);
      else if (err) reject(err);
      else resolve();
    };
    cmd.on('end', () => done());
    cmd.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
      const tail = lastLines(stderr ?? '', 8);
      done(new Error(`ffmpeg ${label} failed: ${err.message.split('\n')[0]}${tail ? `\n${tail}` : ''}`));
    });
    cmd.run();
  });
}

function build(job: FfmpegJob): FfmpegCommand {
  const cmd = ffmpeg({ stdoutLines: 50 });
  for (const input of job.inputs) cmd.input(input.path).inputOptions(input.options);
  if (job.filter) cmd.complexFilter(job.filter);
  return cmd.output(job.output).outputOptions(job.outputOptions);
}

function lastLines(text: string, n: number): string {
  return text
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l && !/^[a-z_0-9]+=/.test(l))
    .slice(-n)
    .join('\n');
}

function positiveNumber(value: unknown): number | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function validRational(value: unknown): string | undefined {
  return typeof value === 'string' && rationalValue(value) > 0 ? value : undefined;
}

function rationalValue(r: string): number {
  const [num, den = '1'] = r.split('/');
  const v = Number(num) / Number(den);
  return Number.isFinite(v) ? v : 0;
}

function round(n: number, digits = 2): number {
  return Number(n.toFixed(digits));
}
