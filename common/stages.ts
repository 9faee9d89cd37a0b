// The state names of stories, keyframes, shots and clip attempts: plain constants (no zod), so the browser's review
// page, the CLI and the schemas all read the same lists.

/** Stages of a story, in order. `awaiting-*` stages wait on a person. */
export const STAGES = [
  'keyframes',
  'awaiting-keyframe-review',
  'shots',
  'awaiting-clip-review',
  'stitching',
  'completed',
  'failed',
  'cancelled',
] as const;
/** Stage of a story. */
export type Stage = (typeof STAGES)[number];

/** Stages a story never leaves. */
export const TERMINAL_STAGES = ['completed', 'failed', 'cancelled'] as const satisfies readonly Stage[];
/** Whether a story in `stage` has ended. */
export function isTerminalStage(stage: Stage): boolean {
  return (TERMINAL_STAGES as readonly Stage[]).includes(stage);
}

/** Stages in which the story waits on a person (reviewers and operators list stories by them). */
export const REVIEW_STAGES = ['awaiting-keyframe-review', 'awaiting-clip-review'] as const satisfies readonly Stage[];

/** What each stage is called where people read it (CLI, review page). */
export const STAGE_LABELS: Record<Stage, string> = {
  keyframes: 'Making keyframes',
  'awaiting-keyframe-review': 'Waiting for a keyframe review',
  shots: 'Making clips',
  'awaiting-clip-review': 'Waiting for a clip review',
  stitching: 'Stitching the video',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** States of a keyframe and of one of its variations. */
export const GENERATION_STATES = ['pending', 'generating', 'ready', 'failed'] as const;
/** States of a shot. */
export const SHOT_STATES = ['pending', 'generating', 'awaiting-review', 'done', 'failed', 'cancelled'] as const;
/** States of one paid clip attempt. */
export const CLIP_ATTEMPT_STATES = [
  'waiting-for-slot',
  'submitted',
  'dreaming',
  'completed',
  'failed',
  'timed-out',
  'rejected',
  'approved',
  'cancelled',
] as const;
/** State of one paid clip attempt. */
export type ClipAttemptState = (typeof CLIP_ATTEMPT_STATES)[number];
/** How a story run ended. */
export const RESULT_STATUSES = ['completed', 'failed', 'cancelled'] as const;
