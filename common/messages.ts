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
  state: 'waiting-for-slot' | 'submitted' | 'dreaming' | 'completed' | 'failed' | 'rejected' | 'approved' | 'cancelled';
  credits: number;
  failureReason?: string;
  feedback?: string;
  clip?: AssetRef;
}

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
    error: progress.error,
  };
}
