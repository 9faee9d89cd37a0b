import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { KeyframeReviewInput, RaiseBudget, ShotReview } from '../../common/messages';
import type { CostProgress, ShotProgress, StoryProgress } from '../../common/progress';

/** Picks keyframe variations, regenerates boundaries, or approves; answers with the progress after it. */
export const reviewKeyframes = defineUpdate<StoryProgress, [KeyframeReviewInput]>('reviewKeyframes');
/** Fire-and-forget form of `reviewKeyframes` (invalid reviews are logged and dropped). */
export const reviewKeyframesSignal = defineSignal<[KeyframeReviewInput]>('reviewKeyframesSignal');
/** Approves a shot's clip, or rejects it with feedback so it is regenerated. */
export const reviewShot = defineUpdate<StoryProgress, [ShotReview]>('reviewShot');
/** Fire-and-forget form of `reviewShot`. */
export const reviewShotSignal = defineSignal<[ShotReview]>('reviewShotSignal');
/** Raises the story's credit budget so a story waiting for budget goes on. */
export const raiseBudget = defineUpdate<CostProgress, [RaiseBudget]>('raiseBudget');
/** Everything a caller wants to know about a running story. */
export const progress = defineQuery<StoryProgress>('progress');

/** Sent by a shot workflow to its story whenever one of its attempts changes. */
export const shotUpdated = defineSignal<[ShotProgress]>('shotUpdated');

/** A request for one Luma video slot from the gate. */
export interface SlotRequest {
  permitId: string;
  requesterWorkflowId: string;
  /** The requester's view of the account limit; the newest one wins, so a config change reaches a running gate. */
  capacity: number;
}
/** Asks the gate for a slot; it answers with `slotGranted` to the requester. */
export const acquireSlot = defineSignal<[SlotRequest]>('acquireSlot');
/** Gives a slot back to the gate. */
export const releaseSlot = defineSignal<[{ permitId: string }]>('releaseSlot');
/** The gate's answer: the requester may submit one video generation now. */
export const slotGranted = defineSignal<[{ permitId: string }]>('slotGranted');
/** Holders and waiters of the gate. */
export const gateState = defineQuery<{ capacity: number; holders: GateHolder[]; waiting: SlotRequest[] }>('gateState');

/** A granted permit and when it was granted (epoch ms, workflow clock). */
export interface GateHolder extends SlotRequest {
  grantedAt: number;
}
