import { createGateActivities, type GateDeps } from './gate';
import { createGenerationActivities, type GenerationDeps } from './generations';
import { createMediaActivities, type MediaDeps } from './media';
import { createWebhookActivities, type WebhookDeps } from './webhooks';

/** Everything the activities need; workers build it from config, tests pass real or fake parts. */
export type ActivityDeps = GenerationDeps & MediaDeps & GateDeps & { webhooks: WebhookDeps };

/**
 * Builds the activities of each task queue: short provider and Temporal calls (`io`), long waits on generations
 * (`poll`, kept apart so they never take the slots creates and deletes need), and CPU-bound media work.
 */
export function createActivitiesByQueue(deps: ActivityDeps) {
  const { pollGeneration, ...generations } = createGenerationActivities(deps);
  return {
    io: { ...generations, ...createGateActivities(deps), ...createWebhookActivities(deps.webhooks) },
    poll: { pollGeneration },
    media: createMediaActivities(deps),
  };
}

type ByQueue = ReturnType<typeof createActivitiesByQueue>;
/** Activities on the `io` queue, as workflows see them (import as a type only). */
export type IoActivities = ByQueue['io'];
/** Activities on the `poll` queue. */
export type PollActivities = ByQueue['poll'];
/** Activities on the `media` queue. */
export type MediaActivities = ByQueue['media'];
