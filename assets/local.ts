import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream, mkdirSync } from 'node:fs';
import { copyFile, link, mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AssetRef, StoredFile } from '../common/progress';
import { ExpiringSigner, expiryFor } from './signing';
import { assetKey, isAssetKey, type AssetStore, type ServedAssets } from './store';

/** Options of {@link createLocalAssetStore}. */
export interface LocalAssetStoreOptions {
  /** The folder of every story's files. */
  root: string;
  /** Base URL of the HTTP server that serves them under `/assets/` (REELFLOW_PUBLIC_URL). */
  publicBaseUrl: string;
  /**
   * HMAC key of signed asset URLs, shared by the HTTP server and every worker (REELFLOW_SIGNING_SECRET); without it
   * the store can read and write files but not sign (a demo fetching its outputs).
   */
  secret?: string | Buffer;
  /** Clock, for tests. */
  now?: () => number;
}

/** The local store, with what only it has: files named by their paths. */
export interface LocalAssetStore extends AssetStore {
  readonly kind: 'local';
  /** Reference of a file inside the store, by its local path. */
  refForPath(absolutePath: string): AssetRef;
  readonly served: ServedAssets;
}

/**
 * Asset store on a local directory (the default, and the demo's), served by our HTTP server under
 * `<publicBaseUrl>/assets/` with signed URLs. Writes go to a hidden scratch file beside the target and are linked into
 * place, so a reader never sees half a file and a complete file is never replaced.
 */
export function createLocalAssetStore(options: LocalAssetStoreOptions): LocalAssetStore {
  const root = path.resolve(options.root);
  const prefix = `${options.publicBaseUrl.replace(/\/+$/, '')}/assets/`;
  const signer = options.secret === undefined ? undefined : new ExpiringSigner(options.secret, 'asset', options.now);
  const signing = (): ExpiringSigner => {
    if (!signer) throw new Error('this asset store was opened without a signing secret: it cannot sign URLs');
    return signer;
  };
  const holds = (absolutePath: string) => {
    const rel = path.relative(root, path.resolve(absolutePath));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  const refOfKey = (key: string): AssetRef => ({
    key,
    path: path.join(root, ...key.split('/')),
    url: `${prefix}${key.split('/').map(encodeURIComponent).join('/')}`,
  });
  const refForPath = (absolutePath: string): AssetRef => {
    if (!holds(absolutePath)) throw new Error(`not inside the asset store: ${absolutePath}`);
    const key = path.relative(root, path.resolve(absolutePath)).split(path.sep).join('/');
    return isAssetKey(key) ? refOfKey(key) : { path: path.resolve(absolutePath), url: refOfKey(key).url };
  };
  const find = (name: string): AssetRef | undefined => {
    if (path.isAbsolute(name)) return holds(name) ? refForPath(name) : undefined;
    if (!name.startsWith(prefix)) return undefined;
    const key = decodeURIComponent(name.slice(prefix.length).split(/[?#]/)[0]);
    return isAssetKey(key) ? refOfKey(key) : undefined;
  };
  /** The local path of a stored file: by its key (references since issue 13), else by its path (older ones). */
  const pathOf = (file: StoredFile): string => {
    const ref = typeof file === 'string' ? find(file) : file;
    if (ref?.key && isAssetKey(ref.key)) return refOfKey(ref.key).path!;
    if (ref?.path && holds(ref.path)) return path.resolve(ref.path);
    throw new Error(`not a file of the local asset store (${root}): ${typeof file === 'string' ? file : file.url}`);
  };
  return {
    kind: 'local',
    refForPath,
    find,
    ref: (storyId, name) => refOfKey(assetKey(storyId, name)),
    async put(file, ref) {
      const dest = pathOf(ref);
      await mkdir(path.dirname(dest), { recursive: true });
      // No part of the target's name: a scratch file must never look like an asset (the server hides dotfiles).
      const tmp = path.join(path.dirname(dest), `.reelflow-${randomUUID()}.part`);
      try {
        await copyFile(file, tmp);
        try {
          // link() fails when the target exists: the first complete file stays, as with a conditional PUT.
          await link(tmp, dest);
          return 'written';
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') return (await sameBytes(tmp, dest)) ? 'same' : 'kept-existing';
          // A filesystem without hard links: rename is atomic too, only not exclusive.
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
          if (await exists(dest)) return (await sameBytes(tmp, dest)) ? 'same' : 'kept-existing';
          await rename(tmp, dest);
          return 'written';
        }
      } finally {
        await rm(tmp, { force: true });
      }
    },
    async get(file, dest) {
      const src = pathOf(file);
      await mkdir(path.dirname(path.resolve(dest)), { recursive: true });
      await copyFile(src, dest, constants.COPYFILE_FICLONE).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') throw new Error(`asset not in the store: ${src}`, { cause: err });
        throw err;
      });
    },
    async signUrl(url, ttlSeconds) {
      if (!url.startsWith(prefix)) return url;
      const encoded = url.slice(prefix.length).split(/[?#]/)[0];
      const exp = expiryFor(signing().nowSeconds(), ttlSeconds);
      const query = new URLSearchParams({ exp: String(exp), sig: signing().sign(decodeURIComponent(encoded), exp) });
      return `${prefix}${encoded}?${query.toString()}`;
    },
    served: {
      root,
      prepare: () => mkdirSync(root, { recursive: true }),
      check: (relPath, exp, sig) => signer?.check(relPath, exp, sig) ?? 'bad-signature',
      async staysInside(relPath) {
        const realRoot = await realpath(root);
        const real = await realpath(path.join(root, relPath)).catch(() => undefined);
        return !real || real === realRoot || real.startsWith(realRoot + path.sep);
      },
    },
  };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false
  );
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256Of(a), sha256Of(b)]);
  return ha === hb;
}

/** The hex SHA-256 of a file, streamed. */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
