import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import path from 'node:path';
import type { AssetStore } from '../assets';
import { FailureType, nonRetryable } from '../common/failures';
import type { CheckedInputs } from '../common/messages';
import type { AssetRef, StoredFile, StoryOutput } from '../common/progress';
import { isUrlReference, type SuppliedInput } from '../common/story';
import { checkAudioFile } from '../inputs';
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

/**
 * Builds the ffmpeg/sharp activities. Each works in its own scratch directory: it gets its inputs from the asset
 * store, makes its outputs there and puts them in the store, so it may run on any host that reaches the store and
 * never reads a path another process wrote.
 */
export function createMediaActivities(deps: MediaDeps) {
  const withScratch = <T>(fn: (dir: string) => Promise<T>) => inScratch(fn, deps.scratchDir);
  /** Puts a finished scratch file in the store as `ref`. */
  const store = async (file: string, ref: AssetRef, signal?: AbortSignal): Promise<AssetRef> => {
    const outcome = await deps.assets.put(file, ref, { signal });
    // A twin attempt of this step stored its (equally valid) output first; that one stays.
    if (outcome === 'kept-existing') log.warn('asset already stored with other bytes; the first is kept', { ref });
    return ref;
  };
  /** Gets a stored file into the scratch dir as `name`. */
  const fetchStored = async (file: StoredFile, dir: string, name: string, signal?: AbortSignal): Promise<string> => {
    const local = path.join(dir, name);
    await deps.assets.get(file, local, { signal });
    return local;
  };
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
      const target = deps.assets.ref(input.storyId, `${input.assetBase}/keyframes/b${item.boundary}-supplied.png`);
      const fitted = path.join(dir, `checked-b${item.boundary}.png`);
      await normalizeImage(local, fitted, { width: input.width, height: input.height }).catch(named);
      return store(fitted, target, signal);
    }
    await checkAudioFile(local, { maxSeconds: deps.maxAudioSeconds, signal }).catch(named);
    const ext = path.extname(local).toLowerCase();
    const target = deps.assets.ref(
      input.storyId,
      `${input.assetBase}/input/audio${/^\.[a-z0-9]{1,5}$/.test(ext) ? ext : ''}`
    );
    return store(local, target, signal);
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
      const target = deps.assets.ref(input.storyId, input.name);
      return whileHeartbeating(() =>
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
          const fitted = path.join(dir, 'keyframe.png');
          await normalizeImage(local, fitted, { width: input.width, height: input.height });
          return store(fitted, target, ctx.cancellationSignal);
        })
      );
    },

    /** Downloads a finished clip and checks it is the clip that was asked for (duration, size, codec). */
    async ingestClip(input: {
      storyId: string;
      name: string;
      url: string;
      expected: { durationSeconds: number; width: number; height: number };
    }): Promise<AssetRef> {
      const ctx = Context.current();
      const target = deps.assets.ref(input.storyId, input.name);
      return whileHeartbeating(() =>
        withScratch(async (dir) => {
          const local = path.join(dir, 'clip.mp4');
          await providerDownload(input.url, local, ctx.cancellationSignal);
          await verifyClip(local, { ...input.expected, codec: 'h264' });
          return store(local, target, ctx.cancellationSignal);
        })
      );
    },

    /** Cuts the true last frame of a clip (chained mode starts the next shot from it). */
    async cutLastFrame(input: {
      storyId: string;
      name: string;
      clip?: AssetRef;
      /** The clip's local path, as workflow code older than the object store passes it. */
      clipPath?: string;
    }): Promise<AssetRef> {
      const target = deps.assets.ref(input.storyId, input.name);
      const signal = Context.current().cancellationSignal;
      return whileHeartbeating(() =>
        withScratch(async (dir) => {
          const clip = await fetchStored(input.clip ?? input.clipPath!, dir, 'clip.mp4', signal);
          const frame = path.join(dir, 'last.png');
          await extractLastFrame(clip, frame, { signal });
          return store(frame, target, signal);
        })
      );
    },

    /** Stitches the clips into the final MP4, with its poster frame and storyboard contact sheet. */
    async renderStory(input: {
      storyId: string;
      /** Folder of the outputs inside the story's asset folder (default `output`). */
      outputDir?: string;
      /** The clips in order (local paths from workflow code older than the object store). */
      clips: StoredFile[];
      crossfadeSeconds: number;
      /** `stored`: the checked copy in the store; without it, `src` is the story's own path or URL. */
      audio?: { src: string; volume: number; stored?: AssetRef };
      /** `ref`: the keyframe in the store; `path`: its local path, from workflow code older than the object store. */
      keyframes: Array<{ label: string; ref?: AssetRef; path?: string }>;
    }): Promise<StoryOutput> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const outputs = (name: string) => deps.assets.ref(input.storyId, `${input.outputDir ?? 'output'}/${name}`);
      const [video, poster, storyboard] = [outputs('story.mp4'), outputs('poster.jpg'), outputs('storyboard.png')];
      return whileHeartbeating(() =>
        withScratch(async (dir) => {
          const clips = await Promise.all(
            input.clips.map((clip, i) => fetchStored(clip, dir, `clip-${i + 1}.mp4`, signal))
          );
          const tiles = await Promise.all(
            input.keyframes.map(async (k, i) => ({
              label: k.label,
              path: await fetchStored(k.ref ?? k.path!, dir, `keyframe-${i}.png`, signal),
            }))
          );
          const audioPath = input.audio ? await audioFile(input.audio, dir, signal) : undefined;
          const out = { video: path.join(dir, 'story.mp4'), poster: path.join(dir, 'poster.jpg') };
          const stitched = await stitchClips({
            clips,
            outPath: out.video,
            crossfadeSeconds: input.crossfadeSeconds,
            audio: audioPath ? { path: audioPath, volume: input.audio!.volume } : undefined,
            signal,
            onProgress: (fraction) => ctx.heartbeat({ fraction }),
          });
          const info = await probeMedia(out.video);
          const frame = path.join(dir, 'poster.png');
          await extractFrame(out.video, Math.min(1, info.durationSeconds / 3), frame);
          await makePoster(frame, out.poster);
          const sheet = path.join(dir, 'storyboard.png');
          await makeContactSheet({ tiles, outPath: sheet });
          // The video last: a stored video means its poster and storyboard are there too.
          await store(out.poster, poster, signal);
          await store(sheet, storyboard, signal);
          await store(out.video, video, signal);
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

  /** The audio track as a scratch file: the checked copy from the store, or the story's own file or URL. */
  async function audioFile(audio: { src: string; stored?: AssetRef }, dir: string, signal: AbortSignal) {
    // Older workflow code passed the checked copy's local path as `src`.
    const stored = audio.stored ?? deps.assets.find(audio.src);
    if (stored) return fetchStored(stored, dir, `audio${path.extname(stored.url)}`, signal);
    return resolveInputFile(audio.src, {
      downloadDir: dir,
      allowPrivate: deps.allowPrivateInputs,
      maxBytes: deps.maxDownloadBytes,
      signal,
    });
  }
}

function withoutQuery(url: string): string {
  return url.trim().split(/[?#]/)[0];
}

function isBadInput(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === FailureType.BadInput;
}
