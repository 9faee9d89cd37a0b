import { promises as fs } from 'node:fs';
import path from 'node:path';
import ffmpeg, { type FfmpegCommand, type FfprobeData } from 'fluent-ffmpeg';
import { tempSibling, writeAtomically } from './atomic-write';
import { FailureType, nonRetryable } from '../common/failures';
import { checkAudioFile } from '../inputs';

// fluent-ffmpeg is archived upstream: this is the only module allowed to import it, so it can be swapped out.

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

/** Input of {@link stitchClips}. */
export interface StitchOptions extends RunOptions {
  /** MP4 clips in play order. */
  clips: string[];
  /** Where the MP4 goes; written to a temporary sibling first and renamed. */
  outPath: string;
  /** Length of each cross-fade between consecutive clips; 0 for hard cuts. */
  crossfadeSeconds: number;
  /** A track laid under the whole video: looped if shorter, trimmed if longer, scaled by `volume` (1 = unchanged). */
  audio?: { path: string; volume: number };
  /** Fade-out of the audio at the end, default 1 s. */
  fadeOutSeconds?: number;
}

/** Output of {@link stitchClips}. */
export interface StitchResult {
  /** Probed length of the written video. */
  durationSeconds: number;
  /** `stream-copy` when the clips were joined without re-encoding the video. */
  method: 'stream-copy' | 'reencode';
  /** Frame size of the written video. */
  width: number;
  /** Frame size of the written video. */
  height: number;
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

const MP4_DEMUXER = 'mov';
const AUDIO_RATE = 48_000;
const DEFAULT_FADE_OUT_SECONDS = 1;
const DEFAULT_TOLERANCE_SECONDS = 0.5;

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
      (cmd) =>
        cmd
          .input(info.path)
          .inputOptions(['-sseof', '-1', ...mp4InputOptions()])
          .output(tmp)
          .outputOptions(['-map', '0:v:0', '-update', '1', '-q:v', '1', '-c:v', 'png', '-f', 'image2']),
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
      (cmd) =>
        cmd
          .input(info.path)
          .inputOptions(['-ss', String(atSeconds), ...mp4InputOptions()])
          .output(tmp)
          .outputOptions(['-map', '0:v:0', '-frames:v', '1', '-update', '1', ...codec, '-f', 'image2']),
      opts
    )
  );
}

/**
 * Joins clips into one H.264/AAC MP4 with fast start: cross-fades of `crossfadeSeconds` (re-encode), or a stream copy
 * when there is no cross-fade and the clips are alike. The output always has an AAC track (silence without `audio`).
 */
export async function stitchClips(opts: StitchOptions): Promise<StitchResult> {
  const { clips, crossfadeSeconds: xf } = opts;
  if (clips.length === 0) throw nonRetryable(FailureType.BadInput, 'stitchClips: no clips to stitch');
  if (!Number.isFinite(xf) || xf < 0) {
    throw nonRetryable(FailureType.BadInput, `stitchClips: cross-fade must be 0 or more seconds, got ${xf}`);
  }
  const fadeOut = opts.fadeOutSeconds ?? DEFAULT_FADE_OUT_SECONDS;
  if (!Number.isFinite(fadeOut) || fadeOut < 0) {
    throw nonRetryable(FailureType.BadInput, `stitchClips: audio fade-out must be 0 or more seconds, got ${fadeOut}`);
  }
  if (opts.audio && (!Number.isFinite(opts.audio.volume) || opts.audio.volume < 0)) {
    throw nonRetryable(FailureType.BadInput, `stitchClips: audio volume must be 0 or more, got ${opts.audio.volume}`);
  }

  const probed = await Promise.all(clips.map((clip) => probeVideo(clip)));
  if (clips.length > 1 && xf > 0) {
    const shortest = probed.reduce((a, b) => (b.info.durationSeconds < a.info.durationSeconds ? b : a));
    if (xf >= shortest.info.durationSeconds) {
      throw nonRetryable(
        FailureType.BadInput,
        `stitchClips: cross-fade of ${xf} s must be shorter than the shortest clip ` +
          `(${shortest.info.path}: ${round(shortest.info.durationSeconds)} s)`
      );
    }
  }
  const audio = opts.audio
    ? { ...opts.audio, ...(await checkAudioFile(opts.audio.path, { signal: opts.signal })) }
    : undefined;

  const total = probed.reduce((sum, c) => sum + c.info.durationSeconds, 0) - (clips.length - 1) * xf;
  const method = (xf === 0 || clips.length === 1) && canStreamCopy(probed) ? 'stream-copy' : 'reencode';
  const audioFilter = buildAudioFilter(
    method === 'stream-copy' ? 1 : clips.length,
    total,
    audio && { ...audio, fadeOut }
  );
  const videoOptions =
    method === 'stream-copy'
      ? ['-map', '0:v:0', '-c:v', 'copy']
      : ['-map', '[vout]', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'];
  const listPath = method === 'stream-copy' ? await writeConcatList(opts.outPath, probed) : undefined;
  try {
    await writeAtomically(opts.outPath, (tmp) =>
      runFfmpeg(
        `stitch (${method})`,
        (cmd) => {
          if (listPath) {
            cmd
              .input(listPath)
              .inputOptions([...localInputOptions(['concat', MP4_DEMUXER]), '-f', 'concat', '-safe', '0']);
          } else {
            for (const clip of probed) cmd.input(clip.info.path).inputOptions(mp4InputOptions());
          }
          if (audio) {
            cmd
              .input(audio.path)
              .inputOptions(['-stream_loop', '-1', ...localInputOptions([audio.demuxer]), '-f', audio.demuxer]);
          } else {
            // The product promises H.264/AAC, and some players and upload checks want an audio track: add silence.
            cmd.input(`anullsrc=r=${AUDIO_RATE}:cl=stereo`).inputOptions(['-f', 'lavfi']);
          }
          return cmd
            .complexFilter(listPath ? audioFilter : `${buildVideoFilter(probed, xf)};${audioFilter}`)
            .output(tmp)
            .outputOptions([
              ...videoOptions,
              // 128k: ffmpeg's AAC encoder slows several-fold at 192k on a mono track, for no audible gain here.
              ...['-map', '[aout]', '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', '-f', 'mp4'],
            ]);
        },
        { signal: opts.signal, onProgress: opts.onProgress, expectedSeconds: total }
      )
    );
  } finally {
    if (listPath) await fs.rm(listPath, { force: true });
  }

  const out = await probeMedia(opts.outPath);
  opts.onProgress?.(1);
  return { durationSeconds: out.durationSeconds, method, width: out.width, height: out.height };
}

interface ProbedVideo {
  info: MediaInfo;
  fpsRational: string;
  sampleAspectRatio: string;
  extradataHash: string;
}

async function probeVideo(filePath: string): Promise<ProbedVideo> {
  const abs = path.resolve(filePath);
  const data = await ffprobe(abs, mp4InputOptions(), FailureType.MediaCheckFailed, 'an MP4/MOV video');
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
  };
}

function ffprobe(
  abs: string,
  inputOptions: string[],
  failureType: typeof FailureType.MediaCheckFailed,
  what: string
): Promise<FfprobeData> {
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(abs, ['-v', 'error', '-show_data_hash', 'sha256', ...inputOptions], (err: unknown, data) => {
      if (!err) return resolve(data);
      const message = err instanceof Error ? err.message : String(err);
      if (!/ffprobe exited with code/.test(message)) return reject(err);
      // ffprobe prefixes its lines with the demuxer's address and the file name; the reason reads better without them.
      const lines = message
        .split('\n')
        .slice(1)
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
function localInputOptions(demuxers: string[]): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', demuxers.join(',')];
}

function mp4InputOptions(): string[] {
  return [...localInputOptions([MP4_DEMUXER]), '-f', MP4_DEMUXER];
}

function canStreamCopy(clips: ProbedVideo[]): boolean {
  const [first] = clips;
  // Same extradata means same SPS/PPS: the copied bitstream decodes with the first clip's headers.
  return clips.every(
    (c) =>
      c.info.videoCodec === 'h264' &&
      c.info.pixFmt === 'yuv420p' &&
      c.info.width === first.info.width &&
      c.info.height === first.info.height &&
      c.fpsRational === first.fpsRational &&
      c.sampleAspectRatio === first.sampleAspectRatio &&
      c.extradataHash !== '' &&
      c.extradataHash === first.extradataHash
  );
}

function buildVideoFilter(clips: ProbedVideo[], xf: number): string {
  const [first] = clips;
  const { width: w, height: h } = first.info;
  const chains = clips.map((c, i) => {
    const steps: string[] = [];
    if (c.info.width !== w || c.info.height !== h) {
      steps.push(`scale=${w}:${h}:force_original_aspect_ratio=decrease`, `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`);
    }
    // Only when needed, and `framerate` rather than `fps`: after `fps`, xfade in ffmpeg 5.1 adds a frame at the cut.
    if (c.fpsRational !== first.fpsRational) steps.push(`framerate=${first.fpsRational}`);
    // xfade needs identical time bases, SAR and pixel formats on both inputs.
    steps.push('settb=AVTB', 'setsar=1', 'format=yuv420p');
    return `[${i}:v]${steps.join(',')}[v${i}]`;
  });
  if (clips.length === 1) return `${chains[0]};[v0]null[vout]`;
  if (xf === 0) {
    return `${chains.join(';')};${clips.map((_, i) => `[v${i}]`).join('')}concat=n=${clips.length}:v=1:a=0[vout]`;
  }
  const fades: string[] = [];
  let offset = 0;
  let previous = '[v0]';
  for (let i = 1; i < clips.length; i++) {
    offset += clips[i - 1].info.durationSeconds - xf;
    const label = i === clips.length - 1 ? '[vout]' : `[x${i}]`;
    fades.push(`${previous}[v${i}]xfade=transition=fade:duration=${seconds(xf)}:offset=${seconds(offset)}${label}`);
    previous = label;
  }
  return `${chains.join(';')};${fades.join(';')}`;
}

/** The `[aout]` chain: the track looped by its input, cut to the video, at its volume, faded out; or plain silence. */
function buildAudioFilter(
  inputIndex: number,
  total: number,
  audio: { volume: number; fadeOut: number } | undefined
): string {
  if (!audio) return `[${inputIndex}:a]atrim=duration=${seconds(total)}[aout]`;
  const fade = Math.min(audio.fadeOut, total);
  // No channel-layout change: mono up-mixed to stereo would come out 3 dB quieter than asked.
  const steps = [
    `aresample=${AUDIO_RATE}`,
    `volume=${audio.volume}`,
    `atrim=duration=${seconds(total)}`,
    'asetpts=N/SR/TB',
  ];
  if (fade > 0) steps.push(`afade=t=out:st=${seconds(total - fade)}:d=${seconds(fade)}`);
  return `[${inputIndex}:a]${steps.join(',')}[aout]`;
}

interface FfmpegRunOptions extends RunOptions {
  /** Length of the output, to turn ffmpeg's time position into a fraction. */
  expectedSeconds?: number;
}

function runFfmpeg(
  label: string,
  build: (cmd: FfmpegCommand) => FfmpegCommand,
  { signal, onProgress, expectedSeconds }: FfmpegRunOptions
): Promise<void> {
  signal?.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const cmd = build(ffmpeg({ stdoutLines: 50 }));
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

/** Writes the concat demuxer's script next to the output; each file's length is the video's, not the container's. */
async function writeConcatList(outPath: string, clips: ProbedVideo[]): Promise<string> {
  // Without `duration` the demuxer advances by the container length, so a clip whose audio outlasts its video
  // would leave a hole in the video timeline at every cut.
  const script = clips
    .map((c) => `file ${concatQuote(c.info.path)}\nduration ${seconds(c.info.durationSeconds)}\n`)
    .join('');
  const listPath = tempSibling(outPath, '.txt');
  await fs.mkdir(path.dirname(listPath), { recursive: true });
  await fs.writeFile(listPath, script);
  return listPath;
}

function concatQuote(p: string): string {
  if (/[\r\n]/.test(p)) throw nonRetryable(FailureType.BadInput, `stitchClips: clip path contains a line break: ${p}`);
  return `'${p.replace(/'/g, `'\\''`)}'`;
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

function seconds(n: number): string {
  return n.toFixed(6);
}

function round(n: number, digits = 2): number {
  return Number(n.toFixed(digits));
}
