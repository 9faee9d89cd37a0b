import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { KeyframeReviewInput, RaiseBudget, ReviewAck, ShotReview } from '../common/messages';
import type { ClipAttempt, CostProgress, KeyframeVariation, PaidGeneration, StoryProgress } from '../common/progress';
import type { GenerationSettled, WebhookEvent } from '../common/messages';

/** Picks keyframe variations, regenerates boundaries, or approves; answers with a small acknowledgement. */
export const reviewKeyframes = defineUpdate<ReviewAck, [KeyframeReviewInput]>('reviewKeyframes');
/** Approves a shot's clip, or rejects it with feedback so it is regenerated. */
export const reviewShot = defineUpdate<ReviewAck, [ShotReview]>('reviewShot');
/** Raises the story's credit budget so a story waiting for budget goes on. */
export const raiseBudget = defineUpdate<CostProgress, [RaiseBudget]>('raiseBudget');
/** Everything a caller wants to know about a running story. */
export const progress = defineQuery<StoryProgress>('progress');

/** Sent by a clip workflow to its story when its attempt changes (submitted, finished, cancelled). */
export const attemptUpdated =
  defineSignal<[{ shot: number; attempt: ClipAttempt; paid: PaidGeneration[] }]>('attemptUpdated');
/** Sent by a keyframes workflow to its story as variations finish. */
export const keyframesUpdated = defineSignal<[KeyframesUpdate]>('keyframesUpdated');

/** Variations that changed, and generations paid for since the last update. */
export interface KeyframesUpdate {
  variations: Array<KeyframeVariation & { boundary: number }>;
  paid: PaidGeneration[];
}
/** Queues a story event at the story's webhook outbox. */
export const enqueueEvent = defineSignal<[WebhookEvent]>('enqueueEvent');
/** Sent by the HTTP server to a clip workflow when the provider's callback says its generation settled. */
export const generationSettled = defineSignal<[GenerationSettled]>('generationSettled');
