import { createGateActivities, type GateDeps } from './gate';
import { createLumaActivities, type LumaDeps } from './luma';
import { createMediaActivities, type MediaDeps } from './media';

/** Everything the activities need; workers build it from config, tests pass real or fake parts. */
export type ActivityDeps = LumaDeps & MediaDeps & GateDeps;

/** Builds every reelflow activity from its dependencies (activities never read env themselves). */
export function createActivities(deps: ActivityDeps) {
  return { ...createLumaActivities(deps), ...createMediaActivities(deps), ...createGateActivities(deps) };
}

/** The activity functions, as workflows see them (import as a type only). */
export type Activities = ReturnType<typeof createActivities>;
/** Activities that call the Luma API or Temporal (I/O bound). */
export type LumaActivities = ReturnType<typeof createLumaActivities> & ReturnType<typeof createGateActivities>;
/** Activities that run ffmpeg or sharp (CPU bound). */
export type MediaActivities = ReturnType<typeof createMediaActivities>;

export { createLumaActivities, createMediaActivities, createGateActivities };
export type { AssetStore } from './assets';
export { createLocalAssetStore } from './assets';
