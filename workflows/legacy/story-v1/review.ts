// Frozen: the v1 story's handlers (reviews as Updates and as signals, budget, progress) and its keyframe review loop.
import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import { FailureType } from '../../../common/failures';
import {
  keyframeReviewSchema,
  raiseBudgetSchema,
  shotReviewSchema,
  type KeyframeReview,
  type KeyframeReviewInput,
  type ShotReview,
} from '../../../common/messages';
import { parseWith, ValidationError } from '../../../common/validation';
import {
  progress,
  raiseBudget,
  reviewKeyframes,
  reviewKeyframesSignal,
  reviewShot,
  reviewShotSignal,
  shotUpdated,
} from '../messages-v1';
import { makeKeyframes } from './keyframes';
import { notify, setStage, supplied, type V1Run } from './run';

function checkKeyframeReview(r: V1Run, raw: KeyframeReviewInput): KeyframeReview {
  const { state, storyId } = r;
  if (state.stage !== 'awaiting-keyframe-review') {
    throw ApplicationFailure.create({
      type: 'NotAwaitingReview',
      message: `story ${storyId} is in stage '${state.stage}', not waiting for a keyframe review`,
    });
  }
  const review = parseOrReject(() => parseWith(keyframeReviewSchema, raw, 'keyframe review'));
  const issues: string[] = [];
  const last = state.keyframes.length - 1;
  review.picks.forEach((pick, i) => {
    const kf = state.keyframes[pick.boundary];
    if (!kf) issues.push(`picks[${i}].boundary: no boundary ${pick.boundary} (this story has 0..${last})`);
    else if (kf.variations[pick.variation]?.state !== 'ready') {
      const ready = kf.variations.filter((v) => v.state === 'ready').map((v) => v.index);
      issues.push(
        `picks[${i}].variation: boundary ${pick.boundary} has no ready variation ${pick.variation} (ready: ${ready.join(', ')})`
      );
    }
  });
  review.regenerate.forEach((rg, i) => {
    if (!state.keyframes[rg.boundary])
      issues.push(`regenerate[${i}].boundary: no boundary ${rg.boundary} (this story has 0..${last})`);
    else if (supplied(r, rg.boundary))
      issues.push(`regenerate[${i}].boundary: boundary ${rg.boundary} was supplied by the story, not generated`);
  });
  if (issues.length) throw ApplicationFailure.create({ type: 'InvalidReview', message: issues.join('; ') });
  return review;
}

function applyKeyframeReview(r: V1Run, review: KeyframeReview): void {
  for (const pick of review.picks) r.state.keyframes[pick.boundary].picked = pick.variation;
  if (review.regenerate.length) r.regenerateQueue.push(...review.regenerate);
  else if (review.approve) r.approved = true;
}

function checkShotReview(r: V1Run, raw: ShotReview): ShotReview {
  const { state } = r;
  const review = parseOrReject(() => parseWith(shotReviewSchema, raw, 'shot review'));
  const shot = state.shots[review.shot];
  if (!shot) {
    throw ApplicationFailure.create({
      type: 'InvalidReview',
      message: `shot: no shot ${review.shot} (this story has 0..${state.shots.length - 1})`,
    });
  }
  if (shot.state !== 'awaiting-review' || r.shotDecisions.has(review.shot)) {
    throw ApplicationFailure.create({
      type: 'NotAwaitingReview',
      message: `shot ${review.shot} is '${shot.state}', not waiting for a review`,
    });
  }
  return review;
}

/** Registers every handler of the v1 story. */
export function installHandlersV1(r: V1Run): void {
  const { state, storyId } = r;
  setHandler(
    reviewKeyframes,
    (raw) => {
      applyKeyframeReview(r, checkKeyframeReview(r, raw));
      return state;
    },
    { validator: (raw) => void checkKeyframeReview(r, raw) }
  );
  setHandler(reviewKeyframesSignal, (raw) => {
    try {
      applyKeyframeReview(r, checkKeyframeReview(r, raw));
    } catch (err) {
      log.warn('keyframe review signal dropped', { storyId, error: String(err) });
    }
  });
  setHandler(shotUpdated, (update) => {
    const shot = state.shots[update.index];
    if (!shot) return;
    shot.attempts = [...r.earlierAttempts[update.index], ...update.attempts];
    if (shot.state !== 'awaiting-review') shot.state = update.state;
    if (update.clip) shot.clip = update.clip;
  });
  setHandler(
    reviewShot,
    (raw) => {
      const review = checkShotReview(r, raw);
      r.shotDecisions.set(review.shot, review);
      return state;
    },
    { validator: (raw) => void checkShotReview(r, raw) }
  );
  setHandler(reviewShotSignal, (raw) => {
    try {
      const review = checkShotReview(r, raw);
      r.shotDecisions.set(review.shot, review);
    } catch (err) {
      log.warn('shot review signal dropped', { storyId, error: String(err) });
    }
  });
  setHandler(
    raiseBudget,
    (raw) => {
      state.cost.budgetCredits = parseWith(raiseBudgetSchema, raw, 'budget').budgetCredits;
      return state.cost;
    },
    {
      validator: (raw) => {
        const { budgetCredits } = parseOrReject(() => parseWith(raiseBudgetSchema, raw, 'budget'));
        if (state.cost.budgetCredits !== undefined && budgetCredits <= state.cost.budgetCredits) {
          throw ApplicationFailure.create({
            type: 'InvalidReview',
            message: `budgetCredits: ${budgetCredits} is not above the current budget of ${state.cost.budgetCredits}`,
          });
        }
      },
    }
  );
  setHandler(progress, () => state);
}

export async function awaitKeyframeApprovalV1(r: V1Run): Promise<void> {
  const { state, spec } = r;
  while (!r.approved) {
    setStage(r, 'awaiting-keyframe-review');
    notify(r, 'story.needs-review', { review: { what: 'keyframes' } });
    const answered = await condition(() => r.approved || r.regenerateQueue.length > 0, r.reviewTimeoutMs);
    if (!answered) {
      if (spec.review.onTimeout === 'approve') {
        log.info('keyframe review timed out; approving the current picks', { storyId: r.storyId });
        r.approved = true;
        break;
      }
      throw ApplicationFailure.create({
        type: FailureType.ReviewTimedOut,
        message: `nobody reviewed the keyframes within ${spec.review.timeout}`,
        nonRetryable: true,
      });
    }
    if (r.regenerateQueue.length) {
      const batch = r.regenerateQueue.splice(0);
      for (const rg of batch) {
        const kf = state.keyframes[rg.boundary];
        if (rg.prompt) kf.prompt = rg.prompt;
        kf.round += 1;
      }
      setStage(r, 'keyframes');
      await makeKeyframes(r, [...new Set(batch.map((rg) => rg.boundary))]);
    }
  }
}

/** Turns a schema error into the failure an update validator answers with. */
function parseOrReject<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ValidationError)
      throw ApplicationFailure.create({ type: 'InvalidReview', message: err.message });
    throw err;
  }
}
