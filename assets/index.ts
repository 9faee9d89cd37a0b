// The asset store: where every file a story makes lives (a local directory or an S3-compatible bucket), and the
// signed, expiring URLs through which it is reached.
import { createLocalAssetStore } from './local';
import { createS3AssetStore } from './s3';
import type { AssetStore } from './store';

export { createLocalAssetStore, sha256Of, type LocalAssetStore, type LocalAssetStoreOptions } from './local';
export {
  createS3AssetStore,
  defaultS3Client,
  needsPathStyle,
  MAX_PRESIGN_SECONDS,
  type S3AssetStoreOptions,
} from './s3';
export { ExpiringSigner, expiryFor, expiryWindow, type SignatureCheck } from './signing';
export { contentTypeOf, type AssetStore, type PutOutcome, type ServedAssets } from './store';

/** How long a URL handed to the provider stays valid: Luma may fetch a keyframe after hours in its queue. */
export const PROVIDER_URL_TTL_SECONDS = 24 * 3600;
/** How long a URL in an API answer (and so on the review page, which asks again every second) stays valid. */
export const CALLER_URL_TTL_SECONDS = 3600;
/** How long a URL in a webhook event stays valid (a delivery is retried for a day); SigV4's longest. */
export const WEBHOOK_URL_TTL_SECONDS = 7 * 24 * 3600;

/** Where the files live, as the settings say (REELFLOW_ASSET_STORE, REELFLOW_DATA_DIR). */
export type AssetLocation = { kind: 'local'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

/**
 * The asset store a process uses: the local directory (served by our HTTP server, URLs signed with `secret`), or an
 * S3-compatible bucket configured by the AWS SDK from the standard AWS settings (no secret of ours needed).
 */
export function createAssetStore(options: {
  location: AssetLocation;
  /** Base URL of our HTTP server (REELFLOW_PUBLIC_URL), where a local store's files are served. */
  publicBaseUrl: string;
  /** Key of a local store's signed URLs; a function, so only the local store asks for it (none: it cannot sign). */
  secret?: () => string | Buffer;
}): AssetStore {
  const { location } = options;
  if (location.kind === 's3') return createS3AssetStore({ bucket: location.bucket, prefix: location.prefix });
  return createLocalAssetStore({
    root: location.dir,
    publicBaseUrl: options.publicBaseUrl,
    secret: options.secret?.(),
  });
}
