import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { frameSize } from '../common/frame-size';
import type { GenerationRecord, ImageSpec, KeyframeRef, RenderedMedia, VideoSpec } from './generation';
import { downloadLimited } from './http-client';
import { renderClip, type ClipFrames } from './media/clip';
import { extractFirstFrame, extractLastFrame } from './media/ffmpeg';
import { fitFrame } from './media/fit-frame';
import { renderPromptPicture } from './media/prompt-picture';
import type { EmulatorOptions } from './settings';

/** Luma's failure_reason for a keyframe it could not fetch or decode. */
export const INPUT_FRAMES_FAILURE = 'Failed to read user input frames';

/** A keyframe could not be fetched or decoded; the generation fails with INPUT_FRAMES_FAILURE. */
export class InputFramesError extends Error {
  override readonly name = 'InputFramesError';
}

/** What rendering needs from the emulator around it. */
export interface RenderContext {
  /** This generation's own directory (created if missing). */
  dir: string;
  options: Pick<EmulatorOptions, 'imageResolution' | 'keyframeMaxBytes' | 'keyframeTimeoutMs'>;
  /** Another generation of the same key, for `{ type: 'generation' }` keyframes. */
  findGeneration(id: string): GenerationRecord | undefined;
  signal: AbortSignal;
}

/** What rendering reads of a generation (any emulator face's). */
export type RenderedRecord = Pick<GenerationRecord, 'spec' | 'seed' | 'badClip'>;

/** Makes the media of a generation: a picture for an image, a clip and its thumbnail for a video. */
export async function renderGeneration(record: RenderedRecord, ctx: RenderContext): Promise<RenderedMedia> {
  await mkdir(ctx.dir, { recursive: true });
  return record.spec.kind === 'image' ? renderImage(record, record.spec, ctx) : renderVideo(record, record.spec, ctx);
}

async function renderImage(record: RenderedRecord, spec: ImageSpec, ctx: RenderContext): Promise<RenderedMedia> {
  const { width, height } = frameSize(spec.aspectRatio, ctx.options.imageResolution);
  const name = `image.${spec.format}`;
  const picture = await renderPromptPicture({ prompt: spec.prompt, seed: record.seed, width, height }, spec.format);
  await writeFile(path.join(ctx.dir, name), picture);
  return { image: name };
}

async function renderVideo(record: RenderedRecord, spec: VideoSpec, ctx: RenderContext): Promise<RenderedMedia> {
  const asked =
    spec.size === 'start-frame' && spec.frame0?.type === 'image'
      ? await startFrameSize(spec.frame0.url, ctx)
      : frameSize(spec.aspectRatio, spec.resolution);
  // The badClipNext fault: a clip at half the asked size, which a client's checks must catch.
  const even = (n: number) => Math.max(2, Math.round(n / 4) * 2);
  const { width, height } = record.badClip ? { width: even(asked.width), height: even(asked.height) } : asked;
  const start = spec.frame0 ? await keyframePng(spec.frame0, 'frame0', width, height, ctx) : undefined;
  const end = spec.frame1 ? await keyframePng(spec.frame1, 'frame1', width, height, ctx) : undefined;
  let frames: ClipFrames;
  if (start && end) frames = { kind: 'between', start, end };
  else if (start) frames = { kind: 'from-start', start };
  else if (end) frames = { kind: 'to-end', end };
  else {
    const opening = path.join(ctx.dir, 'prompt-start.png');
    const closing = path.join(ctx.dir, 'prompt-end.png');
    const size = { prompt: spec.prompt, width, height };
    await writeFile(opening, await renderPromptPicture({ ...size, seed: record.seed }, 'png'));
    // A loop ends on the picture it starts from; otherwise the clip dissolves into a second picture of the prompt.
    if (!spec.loop) await writeFile(closing, await renderPromptPicture({ ...size, seed: record.seed + 1 }, 'png'));
    frames = { kind: 'between', start: opening, end: spec.loop ? opening : closing };
  }
  await renderClip(
    { frames, width, height, durationSeconds: spec.durationSeconds, out: path.join(ctx.dir, 'video.mp4') },
    ctx.signal
  );
  const poster = frames.kind === 'to-end' ? frames.end : frames.start;
  await sharp(poster).jpeg({ quality: 85 }).toFile(path.join(ctx.dir, 'thumbnail.jpg'));
  return { video: 'video.mp4', image: 'thumbnail.jpg' };
}

/** The size of the START image (sides made even), for models whose clip follows it. */
async function startFrameSize(url: string, ctx: RenderContext): Promise<{ width: number; height: number }> {
  try {
    const bytes = await downloadLimited(url, {
      maxBytes: ctx.options.keyframeMaxBytes,
      timeoutMs: ctx.options.keyframeTimeoutMs,
      signal: ctx.signal,
    });
    const { width, height } = await sharp(bytes).metadata();
    if (!width || !height) throw new Error('no size in the image header');
    const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
    return { width: even(width), height: even(height) };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new InputFramesError(`frame0: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Fetches or derives a keyframe and fits it to the clip size; any failure is an InputFramesError. */
async function keyframePng(
  ref: KeyframeRef,
  role: 'frame0' | 'frame1',
  width: number,
  height: number,
  ctx: RenderContext
): Promise<string> {
  const out = path.join(ctx.dir, `${role}.png`);
  try {
    if (ref.type === 'image') {
      const bytes = await downloadLimited(ref.url, {
        maxBytes: ctx.options.keyframeMaxBytes,
        timeoutMs: ctx.options.keyframeTimeoutMs,
        signal: ctx.signal,
      });
      await fitFrame(bytes, width, height, out);
      return out;
    }
    const source = ctx.findGeneration(ref.id);
    if (!source?.media || source.state !== 'completed') throw new Error(`generation ${ref.id} is not completed`);
    if (!source.media.video) {
      await fitFrame(path.join(source.dir, source.media.image), width, height, out);
      return out;
    }
    // Continuing from a clip starts on its last frame; leading into a clip ends on its first.
    const raw = path.join(ctx.dir, `${role}-source.png`);
    const extract = role === 'frame0' ? extractLastFrame : extractFirstFrame;
    await extract(path.join(source.dir, source.media.video), raw, ctx.signal);
    await fitFrame(raw, width, height, out);
    return out;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new InputFramesError(`${role}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
