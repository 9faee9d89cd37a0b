import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AssetRef } from '../common/progress';
import { ExpiringSigner, expiryFor, type SignatureCheck } from './signing';

/**
 * Where a run's files live and how they are reached. An `AssetRef`'s `url` is the canonical address of a file: what
 * workflow history keeps, and never handed out bare. Whoever hands a URL to someone outside (Luma, a browser, a
 * webhook receiver) mints a signed, expiring one with {@link AssetStore.signUrl} at that moment: an HMAC signature
 * the HTTP server checks for this local store, a presigned GET URL for an object store.
 */
export interface AssetStore {
  /** Reference of `name` (a relative path such as `run-1/keyframes/b0-v1.png`) in a story's folder; creates the folder. */
  ref(storyId: string, name: string): Promise<AssetRef>;
  /** Reference of a file already inside the store, by its local path. */
  refForPath(absolutePath: string): AssetRef;
  /** Whether a local path lies inside the store. */
  holds(absolutePath: string): boolean;
  /**
   * A canonical URL of this store (or one signed before) as a URL anyone may GET for at least `ttlSeconds`; any other
   * URL comes back unchanged. Async, because an object store's presigner is.
   */
  signUrl(url: string, ttlSeconds: number): Promise<string>;
  /** Set when the HTTP server serves the files itself (this local store): the folder and the check of a signed request. */
  readonly served?: ServedAssets;
}

/** What the HTTP server needs to serve a local store's files under `/assets/`. */
export interface ServedAssets {
  /** The folder served; nothing outside it is. */
  root: string;
  /** Checks the `exp` and `sig` of a request for `relPath`, the decoded path under `/assets/`. */
  check(relPath: string, exp: string, sig: string): SignatureCheck;
}

/** Options of {@link createLocalAssetStore}. */
export interface LocalAssetStoreOptions {
  /** The folder of every story's files. */
  root: string;
  /** Base URL of the HTTP server that serves them under `/assets/` (REELFLOW_PUBLIC_URL). */
  publicBaseUrl: string;
  /** HMAC key of signed asset URLs, shared by the HTTP server and every worker (REELFLOW_SIGNING_SECRET). */
  secret: string | Buffer;
  /** Clock, for tests. */
  now?: () => number;
}

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Asset store on a local directory, served by our HTTP server under `<publicBaseUrl>/assets/` with signed URLs. */
export function createLocalAssetStore(options: LocalAssetStoreOptions): AssetStore {
  const root = path.resolve(options.root);
  const prefix = `${options.publicBaseUrl.replace(/\/+$/, '')}/assets/`;
  const signer = new ExpiringSigner(options.secret, 'asset', options.now);
  const holds = (absolutePath: string) => {
    const rel = path.relative(root, path.resolve(absolutePath));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  const refForPath = (absolutePath: string): AssetRef => {
    if (!holds(absolutePath)) throw new Error(`not inside the asset store: ${absolutePath}`);
    const rel = path.relative(root, path.resolve(absolutePath));
    return { path: absolutePath, url: `${prefix}${rel.split(path.sep).map(encodeURIComponent).join('/')}` };
  };
  return {
    refForPath,
    holds,
    async ref(storyId, name) {
      const segments = [storyId, ...name.split('/')];
      if (!segments.every((s) => SAFE_SEGMENT.test(s))) throw new Error(`unsafe asset name: ${storyId}/${name}`);
      const file = path.join(root, ...segments);
      await mkdir(path.dirname(file), { recursive: true });
      return refForPath(file);
    },
    async signUrl(url, ttlSeconds) {
      if (!url.startsWith(prefix)) return url;
      const encoded = url.slice(prefix.length).split(/[?#]/)[0];
      const exp = expiryFor(signer.nowSeconds(), ttlSeconds);
      const query = new URLSearchParams({ exp: String(exp), sig: signer.sign(decodeURIComponent(encoded), exp) });
      return `${prefix}${encoded}?${query.toString()}`;
    },
    served: { root, check: (relPath, exp, sig) => signer.check(relPath, exp, sig) },
  };
}
