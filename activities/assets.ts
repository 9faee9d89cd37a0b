import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AssetRef } from '../common/progress';

/** Where a run's files live and the URL each is served at (the provider fetches keyframes from those URLs). */
export interface AssetStore {
  /** Root directory of all stories' assets. */
  readonly root: string;
  /** Reference of `name` (a relative path such as `keyframes/b0-v1.png`) inside a story's folder; creates the folder. */
  ref(storyId: string, name: string): Promise<AssetRef>;
  /** Reference of a file already inside the store. */
  refForPath(absolutePath: string): AssetRef;
  /** A story's folder. */
  storyDir(storyId: string): string;
}

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Asset store on a local directory, served over HTTP under `<publicBaseUrl>/assets/`. */
export function createLocalAssetStore(options: { root: string; publicBaseUrl: string }): AssetStore {
  const root = path.resolve(options.root);
  const base = options.publicBaseUrl.replace(/\/+$/, '');
  const storyDir = (storyId: string) => {
    if (!SAFE_SEGMENT.test(storyId)) throw new Error(`unsafe story id for the asset store: ${storyId}`);
    return path.join(root, storyId);
  };
  const refForPath = (absolutePath: string): AssetRef => {
    const rel = path.relative(root, absolutePath);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`not inside the asset store: ${absolutePath}`);
    return { path: absolutePath, url: `${base}/assets/${rel.split(path.sep).map(encodeURIComponent).join('/')}` };
  };
  return {
    root,
    storyDir,
    refForPath,
    async ref(storyId, name) {
      const segments = name.split('/');
      if (!segments.every((s) => SAFE_SEGMENT.test(s))) throw new Error(`unsafe asset name: ${name}`);
      const file = path.join(storyDir(storyId), ...segments);
      await mkdir(path.dirname(file), { recursive: true });
      return refForPath(file);
    },
  };
}
