import path from 'node:path';
import type { AssetRef, StoredFile } from '../common/progress';
import type { SignatureCheck } from './signing';

/** What {@link AssetStore.put} found: its bytes stored, the same bytes already there, or other bytes kept there. */
export type PutOutcome = 'written' | 'same' | 'kept-existing';

/**
 * Where a run's files live and how they are reached: a local directory or an S3-compatible bucket, behind this one
 * interface. Activities never touch a stored file themselves: they `get` their inputs into a private scratch
 * directory and `put` their outputs from it, so an activity runs on any host that reaches the store.
 *
 * An `AssetRef`'s `url` is the canonical address of a file: what workflow history keeps, and never handed out bare.
 * Whoever hands a URL to someone outside (Luma, a browser, a webhook receiver) mints a signed, expiring one with
 * {@link AssetStore.signUrl} at that moment: an HMAC signature our HTTP server checks for the local store, a
 * presigned GET URL for an object store.
 */
export interface AssetStore {
  /** Which backend this is. */
  readonly kind: 'local' | 's3';
  /** Reference of `name` (a relative path such as `run-1/keyframes/b0-v1.png`) in a story's folder; writes nothing. */
  ref(storyId: string, name: string): AssetRef;
  /**
   * Stores the local file `file` as `ref`, atomically: no reader ever sees a half-written object. A complete object
   * is never replaced: names are unique per run and step, so a second writer is a retried or twin attempt of the same
   * step, and the first complete write stays (what history may already point at); the outcome says which happened.
   */
  put(file: string, ref: AssetRef, options?: { signal?: AbortSignal }): Promise<PutOutcome>;
  /** Copies a stored file to the local path `dest` (its folder is made); fails when the store does not hold it. */
  get(file: StoredFile, dest: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** The reference of a file this store holds, named by its local path or canonical URL; undefined for anything else. */
  find(name: string): AssetRef | undefined;
  /**
   * A canonical URL of this store (or one signed before) as a URL anyone may GET for at least `ttlSeconds`; any other
   * URL comes back unchanged. Async, because an object store's presigner is.
   */
  signUrl(url: string, ttlSeconds: number): Promise<string>;
  /** Set when the HTTP server serves the files itself (the local store): the folder and the check of a request. */
  readonly served?: ServedAssets;
}

/** What the HTTP server needs to serve a local store's files under `/assets/`. */
export interface ServedAssets {
  /** The folder served; nothing outside it is. */
  root: string;
  /** Makes the folder if it is not there yet (a fresh deployment). */
  prepare(): void;
  /** Checks the `exp` and `sig` of a request for `relPath`, the decoded path under `/assets/`. */
  check(relPath: string, exp: string, sig: string): SignatureCheck;
  /** Whether `relPath` (a missing file included) stays inside the folder once symlinks are followed. */
  staysInside(relPath: string): Promise<boolean>;
}

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The store key of `name` in a story's folder (`<story>/<name>`), refusing anything that could climb or hide. */
export function assetKey(storyId: string, name: string): string {
  const segments = [storyId, ...name.split('/')];
  if (!segments.every((s) => SAFE_SEGMENT.test(s))) throw new Error(`unsafe asset name: ${storyId}/${name}`);
  return segments.join('/');
}

/** Whether `key` is a key {@link assetKey} could have made. */
export function isAssetKey(key: string): boolean {
  return key.split('/').length >= 2 && key.split('/').every((s) => SAFE_SEGMENT.test(s));
}

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.opus': 'audio/opus',
};

/** The Content-Type a stored file is served with (browsers show `<img>` and `<video>` by it). */
export function contentTypeOf(key: string): string {
  return CONTENT_TYPES[path.extname(key).toLowerCase()] ?? 'application/octet-stream';
}
