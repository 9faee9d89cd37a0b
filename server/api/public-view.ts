import path from 'node:path';

/** Where asset files live on disk and the base URL they are served under. */
export interface AssetLocation {
  dir: string;
  publicUrl: string;
}

/**
 * Rewrites a progress or result object for API callers: an `{ path, url }` pair loses its `path`, and a bare string
 * that is a file under the assets directory becomes its URL. Server paths mean nothing to a caller and only reveal
 * the server's layout.
 */
export function publicView<T>(value: T, assets: AssetLocation): unknown {
  const root = path.resolve(assets.dir) + path.sep;
  const base = assets.publicUrl.replace(/\/+$/, '');
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (!v.startsWith(root)) return v;
      const rel = path.relative(root, v).split(path.sep).map(encodeURIComponent).join('/');
      return `${base}/assets/${rel}`;
    }
    if (Array.isArray(v)) return v.map(visit);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      const isAssetRef = typeof (v as { url?: unknown }).url === 'string';
      for (const [key, inner] of Object.entries(v)) {
        if (isAssetRef && key === 'path') continue;
        out[key] = visit(inner);
      }
      return out;
    }
    return v;
  };
  return visit(value);
}
