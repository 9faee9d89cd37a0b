// The asset store: where every file a story makes lives, and the signed, expiring URLs through which it is reached.
export { createLocalAssetStore, type AssetStore, type LocalAssetStoreOptions, type ServedAssets } from './local';
export { ExpiringSigner, expiryFor, type SignatureCheck } from './signing';

/** How long a URL handed to the provider stays valid: Luma may fetch a keyframe after hours in its queue. */
export const PROVIDER_URL_TTL_SECONDS = 24 * 3600;
/** How long a URL in an API answer (and so on the review page, which asks again every second) stays valid. */
export const CALLER_URL_TTL_SECONDS = 3600;
/** How long a URL in a webhook event stays valid (a delivery is retried for a day). */
export const WEBHOOK_URL_TTL_SECONDS = 7 * 24 * 3600;
