import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes, registered on the Temporal namespace at start-up, so runs can be found in the Web UI. */
export const SEARCH_ATTRIBUTES = {
  stage: defineSearchAttributeKey('ReelflowStage', SearchAttributeType.KEYWORD),
  creditsUsed: defineSearchAttributeKey('ReelflowCreditsUsed', SearchAttributeType.DOUBLE),
  shotCount: defineSearchAttributeKey('ReelflowShotCount', SearchAttributeType.INT),
} as const;

/** Story ids double as workflow ids, so they are restricted to characters safe in URLs and file names. */
export const STORY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/** Workflow id of take `take` (1-based) of shot `shot` (0-based) of a story. */
export function shotWorkflowId(storyId: string, shot: number, take = 1): string {
  return take === 1 ? `${storyId}-shot-${shot + 1}` : `${storyId}-shot-${shot + 1}-take-${take}`;
}

/** Idempotency key of one paid generation; it travels in the callback URL, which Luma echoes back in `request`. */
export function generationKey(storyId: string, ...parts: Array<string | number>): string {
  return [storyId, ...parts].join('/');
}

/** Workflow id of attempt `attempt` (1-based) of shot `shot` (0-based): one child workflow per paid clip. */
export function clipAttemptWorkflowId(storyId: string, shot: number, attempt: number): string {
  return `${storyId}-shot-${shot + 1}-attempt-${attempt}`;
}

/** Idempotency key of attempt `attempt` (1-based) of shot `shot` (0-based) under a run's key base. */
export function clipAttemptKey(keyBase: string, shot: number, attempt: number): string {
  return `${keyBase}/shot/${shot + 1}/a${attempt}`;
}

// storyId / run tag / shot / <1-based shot> / a<attempt>: the form clipAttemptKey writes under a story's key base.
const CLIP_KEY = /^([A-Za-z0-9][A-Za-z0-9._-]{0,79})\/[^/]+\/shot\/([1-9]\d{0,3})\/a([1-9]\d{0,3})$/;

/** The clip workflow that created the generation of `key`, or undefined when the key is not a clip attempt's. */
export function clipWorkflowIdOfKey(key: string): string | undefined {
  const m = CLIP_KEY.exec(key);
  return m ? clipAttemptWorkflowId(m[1], Number(m[2]) - 1, Number(m[3])) : undefined;
}
