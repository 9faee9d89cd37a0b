import { execFile } from 'node:child_process';
import path from 'node:path';
import { FailureType, nonRetryable } from '../common/failures';

/** Demuxers allowed for an audio track; anything else (playlists, concat scripts, images) is refused unread. */
export const AUDIO_DEMUXERS: readonly string[] = ['wav', 'mp3', 'mov', 'ogg', 'flac', 'aac', 'matroska'];

/** Default longest audio track accepted: an hour, far longer than any story (50 shots of 9 s is 7.5 minutes). */
export const DEFAULT_MAX_AUDIO_SECONDS = 3600;

/** What an input audio file is, as ffprobe reads it. */
export interface InputAudio {
  /** Absolute path of the probed file. */
  path: string;
  /** The demuxer ffprobe recognised (one of {@link AUDIO_DEMUXERS}), to force when ffmpeg reads it again. */
  demuxer: string;
  /** Codec of the first audio stream. */
  codec: string;
  /** Length in seconds, from the container or the audio stream. */
  durationSeconds: number;
}

/** Options of {@link checkAudioFile}. */
export interface AudioCheckOptions {
  /** Longest track accepted, in seconds (no limit when unset). */
  maxSeconds?: number;
  /** Aborting kills ffprobe. */
  signal?: AbortSignal;
}

const PROBE_TIMEOUT_MS = 60_000;

/**
 * Checks an input audio file with ffprobe on the local file only (`-protocol_whitelist file`, the demuxers above):
 * it must have an audio stream, a readable length, and be at most `maxSeconds` long. Refusals are non-retryable
 * BadInput failures that start with the file's name.
 */
export async function checkAudioFile(filePath: string, opts: AudioCheckOptions = {}): Promise<InputAudio> {
  const abs = path.resolve(filePath);
  const name = path.basename(abs);
  const data = await ffprobeJson(abs, name, opts.signal);
  const audio = data.streams?.find((s) => s.codec_type === 'audio');
  if (!audio) throw nonRetryable(FailureType.BadInput, `${name}: not an audio file (no audio stream found)`);
  // Forcing the demuxer ffprobe recognised keeps ffmpeg from guessing again on the same bytes.
  const demuxer = String(data.format?.format_name ?? '').split(',')[0];
  if (!AUDIO_DEMUXERS.includes(demuxer)) {
    throw nonRetryable(FailureType.BadInput, `${name}: unsupported audio format ${demuxer || '(unknown)'}`);
  }
  const durationSeconds = positive(data.format?.duration) ?? positive(audio.duration);
  if (durationSeconds === undefined) {
    throw nonRetryable(FailureType.BadInput, `${name}: the length of the audio cannot be read`);
  }
  if (opts.maxSeconds !== undefined && durationSeconds > opts.maxSeconds) {
    throw nonRetryable(
      FailureType.BadInput,
      `${name}: ${clock(durationSeconds)} long; audio may be at most ${clock(opts.maxSeconds)} ` +
        '(REELFLOW_MAX_AUDIO_SECONDS)'
    );
  }
  return { path: abs, demuxer, codec: audio.codec_name ?? 'unknown', durationSeconds };
}

interface ProbeJson {
  streams?: Array<{ codec_type?: string; codec_name?: string; duration?: string }>;
  format?: { format_name?: string; duration?: string };
}

function ffprobeJson(abs: string, name: string, signal?: AbortSignal): Promise<ProbeJson> {
  const args = [
    ...['-v', 'error', '-protocol_whitelist', 'file', '-format_whitelist', AUDIO_DEMUXERS.join(',')],
    ...['-show_streams', '-show_format', '-of', 'json', abs],
  ];
  return new Promise((resolve, reject) => {
    execFile(
      'ffprobe',
      args,
      { timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, signal },
      (err, stdout, stderr) => {
        if (signal?.aborted) return reject(signal.reason);
        if (err) {
          if ((err as { killed?: boolean }).killed) {
            return reject(
              nonRetryable(FailureType.BadInput, `${name}: ffprobe did not finish reading it in ${PROBE_TIMEOUT_MS} ms`)
            );
          }
          if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !stderr) {
            return reject(new Error('ffprobe is not installed (it comes with ffmpeg)'));
          }
          // ffprobe prefixes its lines with the demuxer's address and the file name; the reason reads better without.
          const reason =
            [
              ...new Set(
                stderr
                  .split('\n')
                  .map((l) =>
                    l
                      .replace(/^\[[^\]]*\]\s*/, '')
                      .replace(`${abs}: `, '')
                      .trim()
                  )
                  .filter(Boolean)
              ),
            ]
              .slice(-2)
              .join('; ') || 'unreadable';
          return reject(nonRetryable(FailureType.BadInput, `${name}: not an audio file ffprobe can read (${reason})`));
        }
        try {
          resolve(JSON.parse(stdout) as ProbeJson);
        } catch {
          reject(nonRetryable(FailureType.BadInput, `${name}: ffprobe gave no readable answer`));
        }
      }
    );
  });
}

function positive(value: unknown): number | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** 36000 → `10:00:00`. */
function clock(seconds: number): string {
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
