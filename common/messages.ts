import { z } from 'zod';
import { PROMPT_MAX, PROMPT_MIN, type StorySpec } from './story';
import type { CostEstimate, PriceTable } from './pricing';
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
}

/** A generation the story paid for. */
export interface PaidGeneration {
  generationId: string;
  /** What it was for, e.g. `keyframe 2 variation 1` or `shot 3 attempt 2`. */
  what: string;
  credits: number;
  /** Refunded (failed at the provider): kept in the list with 0 credits. */
  refunded?: boolean;
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
export interface ReviewAck {
  storyId: string;
  /** What was reviewed. */
  what: 'keyframes' | 'shot';
  /** The shot (0-based) for a shot review. */
  shot?: number;
  /** The keyframe round the review applied to. */
  round?: number;
  /** The story's stage right after the review. */
  stage: Stage;
  /** True when this update id had been applied before: nothing was applied again. */
  duplicate: boolean;
}

/** A new, higher credit budget for a story. */
export const raiseBudgetSchema = z.object({ budgetCredits: z.number().positive() }).strict();
/** A new, higher credit budget for a story. */
export type RaiseBudget = z.output<typeof raiseBudgetSchema>;

/** Stages of a story, in order. */
export const STAGES = [
  'keyframes',
  'awaiting-keyframe-review',
  'shots',
  'stitching',
  'completed',
  'failed',
  'cancelled',
] as const;
/** Stage of a story. */
export type Stage = (typeof STAGES)[number];

/** A file made by the run: where it lies on disk and the URL it is served at. */
export interface AssetRef {
  path: string;
  url: string;
}

/** One image variation of a boundary keyframe. */
export interface KeyframeVariation extends Partial<AssetRef> {
  index: number;
  state: 'pending' | 'generating' | 'ready' | 'failed';
  generationId?: string;
  credits: number;
  error?: string;
  supplied?: boolean;
}

/** A boundary keyframe: the picture between two shots (or before the first / after the last). */
export interface KeyframeProgress {
  boundary: number;
  prompt: string;
  round: number;
  state: 'pending' | 'generating' | 'ready' | 'failed';
  variations: KeyframeVariation[];
  picked?: number;
}

/** One paid attempt at a shot's clip. */
export interface ClipAttempt {
  attempt: number;
  generationId?: string;
  state: ClipAttemptState;
  credits: number;
  failureReason?: string;
  feedback?: string;
  clip?: AssetRef;
  /** Billed generations of this attempt's key that were found and deleted (each was paid for). */
  duplicates?: string[];
}

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

/** Progress of one shot. */
export interface ShotProgress {
  index: number;
  state: 'pending' | 'generating' | 'awaiting-review' | 'done' | 'failed' | 'cancelled';
  attempts: ClipAttempt[];
  clip?: AssetRef;
  credits: number;
}

/** Credits and dollars of a story so far. */
export interface CostProgress {
  estimated: CostEstimate;
  budgetCredits?: number;
  /** Credits of accepted generations (failed generations are refunded by Luma and not counted). */
  used: number;
  dollars: number;
  waitingForBudget: boolean;
}

/** The answer of the `progress` query. */
export interface StoryProgress {
  storyId: string;
  title: string;
  mode: StorySpec['mode'];
  stage: Stage;
  keyframes: KeyframeProgress[];
  shots: ShotProgress[];
  cost: CostProgress;
  /** When each stage began (ISO time from the workflow clock). */
  stageStartedAt: Partial<Record<Stage, string>>;
  output?: StoryOutput;
  error?: string;
  /** Every generation paid for so far (refunded ones with 0 credits). */
  paid?: PaidGeneration[];
}

/** The finished video and its companions. */
export interface StoryOutput {
  video: AssetRef;
  poster: AssetRef;
  storyboard: AssetRef;
  durationSeconds: number;
}

/** What a story run ended with; a failed or cancelled one still lists every asset it paid for. */
export interface StoryResult {
  storyId: string;
  status: 'completed' | 'failed' | 'cancelled';
  video?: string;
  poster?: string;
  storyboard?: string;
  durationSeconds?: number;
  output?: StoryOutput;
  shots: Array<{ index: number; attempts: number; generationIds: string[]; clip?: string; clips: string[] }>;
  keyframes: Array<{ boundary: number; picked?: number; images: string[] }>;
  credits: number;
  dollars: number;
  /** Every generation the story paid for (refunded ones with 0 credits), so nothing paid goes untracked. */
  paid?: PaidGeneration[];
  error?: string;
}

/** Builds the result of a run from its last progress snapshot. */
export function resultFromProgress(progress: StoryProgress): StoryResult {
  const status = progress.stage === 'completed' ? 'completed' : progress.stage === 'cancelled' ? 'cancelled' : 'failed';
  return {
    storyId: progress.storyId,
    status,
    video: progress.output?.video.path,
    poster: progress.output?.poster.path,
    storyboard: progress.output?.storyboard.path,
    durationSeconds: progress.output?.durationSeconds,
    output: progress.output,
    shots: progress.shots.map((s) => ({
      index: s.index,
      attempts: s.attempts.filter((a) => a.generationId).length,
      generationIds: s.attempts.flatMap((a) => (a.generationId ? [a.generationId] : [])),
      clip: s.clip?.path,
      clips: s.attempts.flatMap((a) => (a.clip ? [a.clip.path] : [])),
    })),
    keyframes: progress.keyframes.map((k) => ({
      boundary: k.boundary,
      picked: k.picked,
      images: k.variations.flatMap((v) => (v.path ? [v.path] : [])),
    })),
    credits: progress.cost.used,
    dollars: progress.cost.dollars,
    ...(progress.paid && { paid: progress.paid }),
    error: progress.error,
  };
}
