import { CALLER_URL_TTL_SECONDS, type AssetStore } from '../../assets';

/**
 * Rewrites a progress or result object for API callers: an asset reference keeps only its `url` (no `path`, no store
 * `key`), a bare string that names a file of the store (a path, an `s3://` URL) becomes its URL, and every asset URL
 * is signed to be fetched without a token for `ttlSeconds` (so `<img>` and `<video>` on the review page work): our
 * HMAC signature for the local store, a presigned GET URL for an object store. Server paths mean nothing to a caller
 * and only reveal the server's layout; history keeps the canonical URLs, signed here when they are handed out.
 */
export async function publicView<T>(
  value: T,
  assets: AssetStore,
  ttlSeconds: number = CALLER_URL_TTL_SECONDS
): Promise<unknown> {
  const visit = async (v: unknown): Promise<unknown> => {
    if (typeof v === 'string') {
      return assets.signUrl(assets.find(v)?.url ?? v, ttlSeconds);
    }
    if (Array.isArray(v)) return Promise.all(v.map(visit));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      const isAssetRef = typeof (v as { url?: unknown }).url === 'string';
      for (const [key, inner] of Object.entries(v)) {
        if (isAssetRef && (key === 'path' || key === 'key')) continue;
        out[key] = await visit(inner);
      }
      return out;
    }
    return v;
  };
  return visit(value);
}
