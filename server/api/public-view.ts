import path from 'node:path';
import { CALLER_URL_TTL_SECONDS, type AssetStore } from '../../assets';

/**
 * Rewrites a progress or result object for API callers: an `{ path, url }` pair loses its `path`, a bare string that
 * is a file in the asset store becomes its URL, and every asset URL is signed to be fetched without a token for
 * `ttlSeconds` (so `<img>` and `<video>` on the review page work). Server paths mean nothing to a caller and only
 * reveal the server's layout; history keeps the canonical URLs, signed here at the moment they are handed out.
 */
export async function publicView<T>(
  value: T,
  assets: AssetStore,
  ttlSeconds: number = CALLER_URL_TTL_SECONDS
): Promise<unknown> {
  const visit = async (v: unknown): Promise<unknown> => {
    if (typeof v === 'string') {
      const url = path.isAbsolute(v) && assets.holds(v) ? assets.refForPath(v).url : v;
      return assets.signUrl(url, ttlSeconds);
    }
    if (Array.isArray(v)) return Promise.all(v.map(visit));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      const isAssetRef = typeof (v as { url?: unknown }).url === 'string';
      for (const [key, inner] of Object.entries(v)) {
        if (isAssetRef && key === 'path') continue;
        out[key] = await visit(inner);
      }
      return out;
    }
    return v;
  };
  return visit(value);
}
