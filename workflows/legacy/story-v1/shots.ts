// Frozen: the v1 story's shots, each take a `shotWorkflow` child that loops its own attempts.
import { ApplicationFailure, condition, executeChild } from '@temporalio/workflow';
import { shotWorkflowId } from '../../../common/constants';
import { FailureType } from '../../../common/failures';
import type { ShotReview } from '../../../common/messages';
import { roundMoney, videoCredits } from '../../../common/pricing';
import type { AssetRef } from '../../../common/progress';
import { composeShotPrompt } from '../../../common/story';
import { mapWithLimit } from '../../concurrency';
import { shotWorkflow } from '../shot-v1';
import { notify, reserve, settle, type V1Run } from './run';

/** The approved keyframe of a boundary. */
export const approvedKeyframeV1 = (r: V1Run, b: number): AssetRef => {
  const kf = r.state.keyframes[b];
  const v = kf.variations[kf.picked ?? 0];
  return { path: v.path!, url: v.url! };
};

async function runShot(r: V1Run, i: number, frame0: AssetRef): Promise<AssetRef> {
  const { spec, state, storyId } = r;
  const shotSpec = spec.shots[i];
  const shot = state.shots[i];
  const feedback: string[] = [];
  const cost = videoCredits(r.prices, {
    durationSeconds: shotSpec.duration,
    resolution: spec.resolution,
    frame0: true,
    frame1: true,
  });
  for (let take = 1; ; take++) {
    await reserve(r, cost, `shot ${i + 1}`);
    let clip: AssetRef;
    let spent = 0;
    try {
      const result = await executeChild(shotWorkflow, {
        workflowId: shotWorkflowId(storyId, i, take),
        taskQueue: r.queues.workflows,
        args: [
          {
            storyId,
            shot: i,
            take,
            prompt: composeShotPrompt(spec.style, shotSpec.description, feedback),
            model: spec.videoModel,
            aspectRatio: spec.aspectRatio,
            resolution: spec.resolution,
            durationSeconds: shotSpec.duration,
            width: r.width,
            height: r.height,
            frame0,
            frame1: approvedKeyframeV1(r, i + 1),
            attemptsBefore: r.earlierAttempts[i].length,
            maxAttempts: spec.maxClipAttempts,
            creditsPerAttempt: cost,
            queues: r.queues,
            gateWorkflowId: r.gateId,
          },
        ],
      });
      spent = cost;
      clip = result.clip;
      shot.attempts = [...r.earlierAttempts[i], ...result.attempts];
      shot.clip = clip;
      shot.credits = roundMoney(shot.credits + cost);
    } finally {
      settle(r, cost, spent);
    }
    if (!spec.review.clips) {
      shot.state = 'done';
      return clip;
    }
    shot.state = 'awaiting-review';
    notify(r, 'story.needs-review', { review: { what: 'shot', shot: i + 1 } });
    const answered = await condition(() => r.shotDecisions.has(i), r.reviewTimeoutMs);
    const decision: ShotReview = answered
      ? r.shotDecisions.get(i)!
      : spec.review.onTimeout === 'approve'
        ? { shot: i, decision: 'approve' }
        : failReviewTimeout(`clip of shot ${i + 1}`);
    r.shotDecisions.delete(i);
    const current = shot.attempts.at(-1)!;
    if (decision.decision === 'approve') {
      current.state = 'approved';
      shot.state = 'done';
      return clip;
    }
    current.state = 'rejected';
    current.feedback = decision.feedback;
    r.earlierAttempts[i] = [...shot.attempts];
    feedback.push(decision.feedback!);
    if (r.earlierAttempts[i].length >= spec.maxClipAttempts) {
      shot.state = 'failed';
      throw ApplicationFailure.create({
        type: FailureType.ShotFailed,
        message: `shot ${i + 1}: clip rejected and no attempts left (limit ${spec.maxClipAttempts})`,
        nonRetryable: true,
      });
    }
    shot.state = 'generating';
  }
}

export async function runShotsV1(r: V1Run): Promise<AssetRef[]> {
  const { spec } = r;
  const n = spec.shots.length;
  if (spec.mode === 'chained') {
    const clips: AssetRef[] = [];
    let frame0 = approvedKeyframeV1(r, 0);
    for (let i = 0; i < n; i++) {
      clips.push(await runShot(r, i, frame0));
      if (i + 1 < n) {
        frame0 = await r.media.cutLastFrame({
          storyId: r.storyId,
          name: `frames/shot-${i + 1}-last.png`,
          clipPath: clips[i].path!,
        });
      }
    }
    return clips;
  }
  return mapWithLimit(
    spec.shots.map((_, i) => i),
    spec.maxParallelShots,
    (i) => runShot(r, i, approvedKeyframeV1(r, i))
  );
}

function failReviewTimeout(what: string): never {
  throw ApplicationFailure.create({
    type: FailureType.ReviewTimedOut,
    message: `nobody reviewed the ${what} in time`,
    nonRetryable: true,
  });
}
