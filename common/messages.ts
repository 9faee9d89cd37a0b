import { z } from 'zod';
import type { ProviderId } from './models';
import type { PriceTable } from './pricing';
import type { AssetRef, PaidGeneration, StoryProgress } from './progress';
import { STAGES } from './stages';
import { PROMPT_MAX, PROMPT_MIN, type StorySpec } from './story';
import type { TaskQueues } from './task-queues';

/** Input of the story workflow: the business id, the validated story, and deployment settings fixed at start. */
export interface StoryWorkflowInput {
  storyId: string;
  spec: StorySpec;
  /** Task queues of this deployment; children and activities are scheduled on them. */
  queues: TaskQueues;
  /** Price table in force when the story started; the run's estimate and budget checks use it. */
  prices: PriceTable;
  /** Whether story events go to webhooks (the deployment has receivers). */
  webhooks?: boolean;
  /** Deployment timings; unset ones take the workflow defaults (tests scale them down). */
  timings?: StoryTimings;
  /** Set when the story continued as new: where it was. */
  resume?: StoryCheckpoint;
}

/** Timings a deployment may tune; all in milliseconds. */
export interface StoryTimings {
  /** Longest single wait inside one polling activity before the workflow looks again (default 10 min). */
  pollWindowMs?: number;
  /** How long a queued permit request waits for its grant before it asks the gate again (default 5 min). */
  gateRecheckMs?: number;
  /** Longest pause between failed clip attempts (default 60 s). */
  maxRetryDelayMs?: number;
  /** History length past which a story waiting for review continues as new (default 4000 events). */
  continueAsNewEvents?: number;
  /**
   * How long one clip create keeps retrying provider trouble (5xx, 429, timeouts, an outage) before its attempt
   * fails; a shot with a fallback model then moves to it (default 1 h).
   */
  submitGiveUpMs?: number;
}

/** What a story carries across continue-as-new: everything its handlers and pipeline need. */
export interface StoryCheckpoint {
  progress: StoryProgress;
  /** Credits of every generation this story paid for, by generation id (failed ones refunded: 0). */
  ledger: Record<string, PaidGeneration>;
  /** Ids of review updates already applied, newest last, with their answers (a retried update gets the same). */
  applied: Array<{ updateId: string; ack: ReviewAck }>;
  /** Keyframe review state; `notice` names the review request already announced, `deadlineMs` when it times out. */
  review: {
    approved: boolean;
    regenerate: Array<{ boundary: number; prompt?: string }>;
    notice?: string;
    deadlineMs?: number;
  };
  /** Keyframe rounds started (each is one child workflow). */
  keyframeRounds: number;
  /** Webhook events sent so far (the next event's id counts on from here). */
  eventCount: number;
  /** Epoch ms of the story's first start (workflow clock). */
  startedAtMs: number;
  /** The story's supplied inputs, checked and stored before anything was paid (unset for stories without any). */
  inputs?: CheckedInputs;
  /** Keys of attempts whose provider could not be asked what they left behind (an outage): swept again at the end. */
  unsettled?: Array<{ key: string; provider: ProviderId; model: string }>;
}

/** Supplied inputs after their check: the stored copies the rest of the run uses instead of fetching them again. */
export interface CheckedInputs {
  /** Each supplied keyframe, fitted to the story's frame. */
  keyframes: Array<AssetRef & { boundary: number }>;
  /** The audio track, as supplied (checked, not re-encoded). */
  audio?: AssetRef;
}

/** Review of the boundary keyframes: pick variations, regenerate boundaries, approve. */
export const keyframeReviewSchema = z
  .object({
    picks: z
      .array(z.object({ boundary: z.number().int().min(0), variation: z.number().int().min(0) }).strict())
      .default([]),
    regenerate: z
      .array(
        z
          .object({
            boundary: z.number().int().min(0),
            prompt: z.string().trim().min(PROMPT_MIN).max(PROMPT_MAX).optional(),
          })
          .strict()
      )
      .default([]),
    approve: z.boolean().default(false),
  })
  .strict()
  .refine((r) => r.approve || r.picks.length > 0 || r.regenerate.length > 0, {
    message: 'a review must pick, regenerate or approve something',
  });
/** Review of the boundary keyframes as sent by a reviewer. */
export type KeyframeReviewInput = z.input<typeof keyframeReviewSchema>;
/** Review of the boundary keyframes with defaults filled in. */
export type KeyframeReview = z.output<typeof keyframeReviewSchema>;

/** A reviewer's verdict on one shot's clip. */
export const shotReviewSchema = z
  .object({
    shot: z.number().int().min(0),
    decision: z.enum(['approve', 'reject']),
    feedback: z.string().trim().max(1000).optional(),
  })
  .strict()
  .refine((r) => r.decision === 'approve' || (r.feedback?.length ?? 0) >= PROMPT_MIN, {
    path: ['feedback'],
    message: 'a rejection needs feedback (at least 3 characters)',
  });
/** A reviewer's verdict on one shot's clip. */
export type ShotReview = z.output<typeof shotReviewSchema>;

/** The answer to a review update: small on purpose (it is stored in the story's history once per review). */
export const reviewAckSchema = z.object({
  storyId: z.string(),
  what: z.enum(['keyframes', 'shot']).describe('What was reviewed'),
  shot: z.number().int().min(0).optional().describe('The shot (0-based) of a shot review'),
  round: z.number().int().min(1).optional().describe('The keyframe round the review applied to'),
  stage: z.enum(STAGES).describe("The story's stage right after the review"),
  duplicate: z.boolean().describe('True when this update id had been applied before: nothing was applied again'),
});
/** The answer to a review update. */
export type ReviewAck = z.infer<typeof reviewAckSchema>;

/** A new, higher credit budget for a story. */
export const raiseBudgetSchema = z.object({ budgetCredits: z.number().positive() }).strict();
/** A new, higher credit budget for a story. */
export type RaiseBudget = z.output<typeof raiseBudgetSchema>;

/** Kinds of story events sent to webhooks. */
export const WEBHOOK_EVENT_TYPES = [
  'story.needs-review',
  'story.completed',
  'story.failed',
  'story.cancelled',
] as const;

/** One story event as POSTed to every webhook URL (the JSON body). */
export const webhookEventSchema = z.object({
  id: z.string().describe('Unique per event and stable across retries, so a receiver can drop duplicates'),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  storyId: z.string(),
  at: z.string().describe('ISO time the event happened (workflow clock)'),
  review: z
    .object({ what: z.enum(['keyframes', 'shot']), shot: z.number().int().min(1).optional() })
    .optional()
    .describe('story.needs-review: what waits for a review, and which shot (from 1)'),
  video: z.string().optional().describe("story.completed: the final video's URL"),
  error: z.string().optional().describe('story.failed: why'),
});
/** One story event as POSTed to every webhook URL. */
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

/**
 * A provider's word that a generation settled (its callback): a hint that makes the waiting workflow read the
 * generation now instead of at its next poll. Callbacks carry no signature, so the workflow believes only what it reads.
 */
export interface GenerationSettled {
  generationId: string;
}
