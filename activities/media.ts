import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import type { AssetStore } from '../assets';
import { FailureType, nonRetryable } from '../common/failures';
import type { CheckedInputs } from '../common/messages';
import type { AssetRef, StoryOutput } from '../common/progress';
import { isUrlReference, type SuppliedInput } from '../common/story';
import { checkAudioFile } from '../inputs';
import { writeAtomically } from './atomic-write';
import { downloadToFile, resolveInputFile } from './fetch';
import { extractFrame, extractLastFrame, probeMedia, verifyClip } from './ffmpeg';
import { whileHeartbeating } from './heartbeat';
import { makeContactSheet, makePoster, normalizeImage } from './images';
import { withScratch as inScratch } from './scratch';
import { stitchClips } from './stitch';

/** What the media activities need. */
export interface MediaDeps {
  assets: AssetStore;
  /** Hosts (host or host:port) the provider's asset URLs may come from, besides public ones. */
  providerHosts: string[];
  /** Whether supplied keyframes and audio may be fetched from private or loopback addresses. */
  allowPrivateInputs: boolean;
  maxDownloadBytes: number;
  /** Longest supplied audio track, in seconds. */
  maxAudioSeconds: number;
  /** Where scratch directories go (default: the system temp dir); each is removed after its activity. */
  scratchDir?: string;
}

/** Where a keyframe image comes from: a provider URL, or a path/URL the story supplied. */
export type KeyframeSource = { providerUrl: string } | { supplied: string };

/** Supplied inputs fetched and checked at once by {@link checkSuppliedInputs}. */
const INPUT_CHECKS_AT_ONCE = 4;

/** Builds the ffmpeg/sharp activities. */
export function createMediaActivities(deps: MediaDeps) {
  const withScratch = <T>(fn: (dir: string) => Promise<T>) => inScratch(fn, deps.scratchDir);
  const providerDownload = (url: string, dest: string, signal: AbortSignal) =>
    downloadToFile(url, dest, {
      allowedHosts: deps.providerHosts.length ? deps.providerHosts : undefined,
      // The provider's own host may be private (the emulator on loopback); a redirect elsewhere private may not.
      privateHosts: deps.providerHosts,
      maxBytes: deps.maxDownloadBytes,
      signal,
    });

  /** Fetches or reads one supplied input, checks it, and keeps the checked copy in the store. */
  async function checkOne(
    input: { storyId: string; assetBase: string; width: number; height: number },
    item: SuppliedInput,
    dir: string,
    signal: AbortSignal
  ): Promise<AssetRef> {
    const local = await resolveInputFile(item.ref, {
      downloadDir: path.join(dir, item.field.replace(/[^A-Za-z0-9]+/g, '-')),
      allowPrivate: deps.allowPrivateInputs,
      maxBytes: deps.maxDownloadBytes,
      signal,
    }).catch((err: unknown) => {
      // A server that trickles bytes is the input's fault as much as one that answers 404.
      if (!signal.aborted && err instanceof Error && /did not finish within/.test(err.message)) {
        throw nonRetryable(FailureType.BadInput, err.message);
      }
      throw err;
    });
    // A refusal names the file; a downloaded one by its URL (without the query), not by its name in the scratch dir.
    const named = (err: unknown): never => {
      const prefix = `${path.basename(local)}: `;
      if (isBadInput(err) && isUrlReference(item.ref) && (err as Error).message.startsWith(prefix)) {
        const reason = (err as Error).message.slice(prefix.length);
        throw nonRetryable(FailureType.BadInput, `${withoutQuery(item.ref)}: ${reason}`);
      }
      throw err;
    };
    if (item.kind === 'image') {
      const target = await deps.assets.ref(
        input.storyId,
        `${input.assetBase}/keyframes/b${item.boundary}-supplied.png`
      );
      await normalizeImage(local, target.path, { width: input.width, height: input.height }).catch(named);
      return target;
    }
    await checkAudioFile(local, { maxSeconds: deps.maxAudioSeconds, signal }).catch(named);
    const ext = path.extname(local).toLowerCase();
    const target = await deps.assets.ref(
      input.storyId,
      `${input.assetBase}/input/audio${/^\.[a-z0-9]{1,5}$/.test(ext) ? ext : ''}`
    );
    await writeAtomically(target.path, (tmp) => copyFile(local, tmp));
    return target;
  }

  return {
    /**
     * Fetches and checks every input a story supplies (keyframe images, the audio track) before anything is paid
     * for, and keeps the checked copies in the store for the rest of the run. Refuses with one non-retryable BadInput
     * naming every bad field and why (`keyframes[0]: bomb.png: 20000x20000 is more than 50 Mpx`).
     */
    async checkSuppliedInputs(input: {
      storyId: string;
      /** This run's folder inside the story's asset folder. */
      assetBase: string;
      inputs: SuppliedInput[];
      /** The story's frame size, which keyframes are fitted to. */
      width: number;
      height: number;
    }): Promise<CheckedInputs> {
      const signal = Context.current().cancellationSignal;
      return whileHeartbeating(() =>
        withScratch(async (dir) => {
          const outcomes: Array<{ item: SuppliedInput; ref?: AssetRef; error?: unknown }> = [];
          let next = 0;
          const lane = async () => {
            while (next < input.inputs.length) {
              const item = input.inputs[next++];
              try {
                outcomes.push({ item, ref: await checkOne(input, item, dir, signal) });
              } catch (error) {
                if (signal.aborted) throw error;
                outcomes.push({ item, error });
              }
            }
          };
          await Promise.all(Array.from({ length: Math.min(INPUT_CHECKS_AT_ONCE, input.inputs.length) }, lane));
          const byField = (a: { item: SuppliedInput }, b: { item: SuppliedInput }) =>
            input.inputs.indexOf(a.item) - input.inputs.indexOf(b.item);
          const failed = outcomes.filter((o) => o.error !== undefined).sort(byField);
          const refused = failed.filter((o) => isBadInput(o.error));
          if (refused.length > 0) {
            // Every field that failed is named, one that could not be checked this time (a 5xx) as well.
            const reasons = failed.map((o) =>
              isBadInput(o.error)
                ? `${o.item.field}: ${(o.error as Error).message}`
                : `${o.item.field}: could not be checked (${o.error instanceof Error ? o.error.message : String(o.error)})`
            );
            log.info('supplied inputs refused', { storyId: input.storyId, reasons });
            throw nonRetryable(FailureType.BadInput, `invalid story: ${reasons.join('; ')}`, [
              refused.map((o) => ({ field: o.item.field, message: (o.error as Error).message })),
            ]);
          }
          if (failed.length > 0) {
            // Transient (a 5xx, a reset connection): Temporal tries the whole check again.
            const first = failed[0];
            throw new Error(`${first.item.field}: ${String((first.error as Error)?.message ?? first.error)}`, {
              cause: first.error,
            });
          }
          const checked: CheckedInputs = { keyframes: [] };
          for (const { item, ref } of outcomes.sort(byField)) {
            if (item.kind === 'image') checked.keyframes.push({ boundary: item.boundary!, ...ref! });
            else checked.audio = ref;
          }
          return checked;
        })
      );
    },

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

function withoutQuery(url: string): string {
  return url.trim().split(/[?#]/)[0];
}

function isBadInput(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === FailureType.BadInput;
}
