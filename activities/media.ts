import { Context, log } from '@temporalio/activity';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AssetRef, StoryOutput } from '../common/progress';
import type { AssetStore } from './assets';
import { downloadToFile, resolveInputFile } from './fetch';
import { extractFrame, extractLastFrame, probeMedia, verifyClip } from './ffmpeg';
import { whileHeartbeating } from './heartbeat';
import { makeContactSheet, makePoster, normalizeImage } from './images';
import { stitchClips } from './stitch';

/** What the media activities need. */
export interface MediaDeps {
  assets: AssetStore;
  /** Hosts (host or host:port) the provider's asset URLs may come from, besides public ones. */
  providerHosts: string[];
  /** Whether supplied keyframes and audio may be fetched from private or loopback addresses. */
  allowPrivateInputs: boolean;
  maxDownloadBytes: number;
}

/** Where a keyframe image comes from: a provider URL, or a path/URL the story supplied. */
export type KeyframeSource = { providerUrl: string } | { supplied: string };

/** Runs `fn` in a scratch directory that is removed afterwards. */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reelflow-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Builds the ffmpeg/sharp activities. */
export function createMediaActivities(deps: MediaDeps) {
  const providerDownload = (url: string, dest: string, signal: AbortSignal) =>
    downloadToFile(url, dest, {
      allowedHosts: deps.providerHosts.length ? deps.providerHosts : undefined,
      allowPrivate: deps.providerHosts.length > 0,
      maxBytes: deps.maxDownloadBytes,
      signal,
    });

  return {
    /** Brings a keyframe image into the store: download or read it, check it, and fit it to the story's frame. */
    async ingestKeyframe(input: {
      storyId: string;
      name: string;
      source: KeyframeSource;
      width: number;
      height: number;
    }): Promise<AssetRef> {
      const ctx = Context.current();
      const target = await deps.assets.ref(input.storyId, input.name);
      await whileHeartbeating(() =>
        withScratch(async (dir) => {
          let local: string;
          if ('providerUrl' in input.source) {
            local = path.join(dir, 'download');
            await providerDownload(input.source.providerUrl, local, ctx.cancellationSignal);
          } else {
            local = await resolveInputFile(input.source.supplied, {
              downloadDir: dir,
              allowPrivate: deps.allowPrivateInputs,
              maxBytes: deps.maxDownloadBytes,
              signal: ctx.cancellationSignal,
            });
          }
          await normalizeImage(local, target.path, { width: input.width, height: input.height });
        })
      );
      return target;
    },

    /** Downloads a finished clip and checks it is the clip that was asked for (duration, size, codec). */
    async ingestClip(input: {
      storyId: string;
      name: string;
      url: string;
      expected: { durationSeconds: number; width: number; height: number };
    }): Promise<AssetRef> {
      const ctx = Context.current();
      const target = await deps.assets.ref(input.storyId, input.name);
      await whileHeartbeating(() =>
        withScratch(async (dir) => {
          const local = path.join(dir, 'clip.mp4');
          await providerDownload(input.url, local, ctx.cancellationSignal);
          await verifyClip(local, { ...input.expected, codec: 'h264' });
          await copyFile(local, target.path);
        })
      );
      return target;
    },

    /** Cuts the true last frame of a clip (chained mode starts the next shot from it). */
    async cutLastFrame(input: { storyId: string; name: string; clipPath: string }): Promise<AssetRef> {
      const target = await deps.assets.ref(input.storyId, input.name);
      const signal = Context.current().cancellationSignal;
      await whileHeartbeating(() => extractLastFrame(input.clipPath, target.path, { signal }));
      return target;
    },

    /** Stitches the clips into the final MP4, with its poster frame and storyboard contact sheet. */
    async renderStory(input: {
      storyId: string;
      /** Folder of the outputs inside the story's asset folder (default `output`). */
      outputDir?: string;
      clips: string[];
      crossfadeSeconds: number;
      audio?: { src: string; volume: number };
      keyframes: Array<{ path: string; label: string }>;
    }): Promise<StoryOutput> {
      const ctx = Context.current();
      const [video, poster, storyboard] = await Promise.all([
        deps.assets.ref(input.storyId, `${input.outputDir ?? 'output'}/story.mp4`),
        deps.assets.ref(input.storyId, `${input.outputDir ?? 'output'}/poster.jpg`),
        deps.assets.ref(input.storyId, `${input.outputDir ?? 'output'}/storyboard.png`),
      ]);
      return whileHeartbeating(() =>
        withScratch(async (dir) => {
          const audioPath = input.audio
            ? await resolveInputFile(input.audio.src, {
                downloadDir: dir,
                allowPrivate: deps.allowPrivateInputs,
                maxBytes: deps.maxDownloadBytes,
                signal: ctx.cancellationSignal,
              })
            : undefined;
          const stitched = await stitchClips({
            clips: input.clips,
            outPath: video.path,
            crossfadeSeconds: input.crossfadeSeconds,
            audio: audioPath ? { path: audioPath, volume: input.audio!.volume } : undefined,
            signal: ctx.cancellationSignal,
            onProgress: (fraction) => ctx.heartbeat({ fraction }),
          });
          const info = await probeMedia(video.path);
          const frame = path.join(dir, 'poster.png');
          await extractFrame(video.path, Math.min(1, info.durationSeconds / 3), frame);
          await makePoster(frame, poster.path);
          await makeContactSheet({ tiles: input.keyframes, outPath: storyboard.path });
          const stitch = {
            method: stitched.method,
            reencodedSeconds: Number(stitched.reencodedSeconds.toFixed(3)),
            ...(stitched.fallbackReason && { fallbackReason: stitched.fallbackReason }),
          };
          log.info('story rendered', { storyId: input.storyId, ...stitch, seconds: info.durationSeconds });
          return { video, poster, storyboard, durationSeconds: info.durationSeconds, stitch };
        })
      );
    },
  };
}
