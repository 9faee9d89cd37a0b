import { rename } from 'node:fs/promises';
import { runFfmpeg } from './ffmpeg';

/** Frame rate of every emulated clip, like Luma's. */
export const CLIP_FPS = 24;

/**
 * A keyframe (IDR) every second and only there (no extra ones at scene cuts), as web-delivery encoders commonly place
 * them (every 1-2 s, for seeking and segmenting). x264's default (one every 250 frames) would give a 5 s clip a
 * single keyframe. Luma does not document its own GOP; reelflow's stitch copies between keyframes when it can and
 * re-encodes whole when it cannot, so either works.
 */
export const CLIP_KEYFRAME_INTERVAL = CLIP_FPS;

/** How far the camera pushes in, as a share of the frame. */
const ZOOM_AMPLITUDE = 0.08;

/** What a clip is made of: PNG files already at the clip's exact size. */
export type ClipFrames =
  /** First frame is `start`, last frame is `end`; a dissolve plus a push-in that is back to 1x at both ends. */
  | { kind: 'between'; start: string; end: string }
  /** First frame is `start`; the camera pushes in from there. */
  | { kind: 'from-start'; start: string }
  /** Last frame is `end`; the camera pulls back onto it. */
  | { kind: 'to-end'; end: string };

/** A clip to render. */
export interface ClipJob {
  frames: ClipFrames;
  width: number;
  height: number;
  durationSeconds: number;
  out: string;
}

function stillInput(file: string): string[] {
  return ['-protocol_whitelist', 'file', '-f', 'image2', '-loop', '1', '-framerate', String(CLIP_FPS), '-i', file];
}

/** zoompan with a per-frame zoom expression; zoom is exactly 1 wherever the clip must show a keyframe as it is. */
function zoom(expression: string, width: number, height: number): string {
  return (
    `zoompan=z='${expression}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'` + `:d=1:s=${width}x${height}:fps=${CLIP_FPS}`
  );
}

/** The ffmpeg arguments of a clip; exported so tests and docs can see the exact graph. */
export function clipArguments(job: ClipJob, tmpOut: string): string[] {
  const frameCount = Math.round(job.durationSeconds * CLIP_FPS);
  const last = frameCount - 1;
  const a = ZOOM_AMPLITUDE;
  let inputs: string[];
  let graph: string;
  switch (job.frames.kind) {
    case 'between':
      inputs = [...stillInput(job.frames.start), ...stillInput(job.frames.end)];
      // The end frame's alpha ramps 0 -> 1 over frames 0..last, so frame 0 is pure start and the last frame pure end;
      // sin(pi*n/last) is 0 at both ends, so the push-in does not move either boundary frame.
      graph =
        `[0:v]format=rgba[a];[1:v]format=rgba,fade=t=in:s=0:n=${last}:alpha=1[b];` +
        `[a][b]overlay=shortest=1:format=auto,${zoom(`1+${a}*sin(PI*in/${last})`, job.width, job.height)},` +
        `format=yuv420p[v]`;
      break;
    case 'from-start':
      inputs = stillInput(job.frames.start);
      graph = `[0:v]${zoom(`1+${a}*(1-cos(PI*in/${last}))/2`, job.width, job.height)},format=yuv420p[v]`;
      break;
    case 'to-end':
      inputs = stillInput(job.frames.end);
      graph = `[0:v]${zoom(`1+${a}*(1+cos(PI*in/${last}))/2`, job.width, job.height)},format=yuv420p[v]`;
      break;
  }
  return [
    ...inputs,
    '-filter_complex',
    graph,
    '-map',
    '[v]',
    '-frames:v',
    String(frameCount),
    '-r',
    String(CLIP_FPS),
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    '-g',
    String(CLIP_KEYFRAME_INTERVAL),
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    tmpOut,
  ];
}

/** Renders an H.264 MP4 clip; the file appears at `job.out` only once it is complete. */
export async function renderClip(job: ClipJob, signal: AbortSignal): Promise<void> {
  const tmpOut = `${job.out}.partial`;
  await runFfmpeg(clipArguments(job, tmpOut), signal);
  await rename(tmpOut, job.out);
}
