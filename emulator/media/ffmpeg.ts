import { spawn } from 'node:child_process';

const STDERR_LIMIT = 4000;

/**
 * Runs ffmpeg on local files only: no stdin, only the file protocol, errors only on stderr. The child is killed
 * when `signal` aborts, so closing the emulator leaves no ffmpeg behind.
 */
export function runFfmpeg(args: string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk.toString();
    });
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) reject(signal.reason);
      else if (code === 0) resolve();
      else reject(new Error(`ffmpeg exited with ${code ?? killedBy}: ${stderr.trim().slice(0, STDERR_LIMIT)}`));
    });
  });
}

/** Input arguments of a local MP4, with the demuxer forced so a crafted file cannot switch ffmpeg to another one. */
export function localMp4Input(file: string): string[] {
  return ['-protocol_whitelist', 'file', '-f', 'mov', '-i', file];
}

/** Writes the first frame of a local MP4 as PNG. */
export function extractFirstFrame(video: string, png: string, signal: AbortSignal): Promise<void> {
  return runFfmpeg([...localMp4Input(video), '-frames:v', '1', '-f', 'image2', png], signal);
}

/** Writes the true last frame of a local MP4 as PNG (`-sseof -1 -update 1`, see shared pitfalls). */
export function extractLastFrame(video: string, png: string, signal: AbortSignal): Promise<void> {
  return runFfmpeg(['-sseof', '-1', ...localMp4Input(video), '-update', '1', '-f', 'image2', png], signal);
}
