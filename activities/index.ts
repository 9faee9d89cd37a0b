import { createGateActivities, type GateDeps } from './gate';
import { createLumaActivities, type LumaDeps } from './luma';
import { createMediaActivities, type MediaDeps } from './media';
import { createWebhookActivities, type WebhookDeps } from './webhooks';

/** Everything the activities need; workers build it from config, tests pass real or fake parts. */
export type ActivityDeps = LumaDeps & MediaDeps & GateDeps & { webhooks: WebhookDeps };

/** Builds the activities of each task queue: I/O-bound calls (Luma, gate, webhooks) and CPU-bound media work. */
export function createActivitiesByQueue(deps: ActivityDeps) {
  return {
    luma: { ...createLumaActivities(deps), ...createGateActivities(deps), ...createWebhookActivities(deps.webhooks) },
    media: createMediaActivities(deps),
  };
}

/** Builds every reelflow activity from its dependencies (activities never read env themselves). */
export function createActivities(deps: ActivityDeps) {
  const byQueue = createActivitiesByQueue(deps);
  return { ...byQueue.luma, ...byQueue.media };
}

/** The activity functions, as workflows see them (import as a type only). */
export type Activities = ReturnType<typeof createActivities>;
/** Activities that call the Luma API or Temporal (I/O bound). */
export type LumaActivities = ReturnType<typeof createLumaActivities> & ReturnType<typeof createGateActivities>;
/** The webhook delivery activity. */
export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
/** Activities that run ffmpeg or sharp (CPU bound). */
export type MediaActivities = ReturnType<typeof createMediaActivities>;

export { createLumaActivities, createMediaActivities, createGateActivities };
export type { AssetStore } from './assets';
export { createLocalAssetStore } from './assets';
