import { currentUpdateInfo, setHandler } from '@temporalio/workflow';
import { failure, FailureType } from '../../common/failures';
import {
  keyframeReviewSchema,
  raiseBudgetSchema,
  shotReviewSchema,
  type KeyframeReview,
  type KeyframeReviewInput,
  type ReviewAck,
  type ShotReview,
} from '../../common/messages';
import { parseWith, ValidationError } from '../../common/validation';
import { progress, raiseBudget, reviewKeyframes, reviewShot } from '../messages';
import { progressOf } from './closing';
import type { StoryRun } from './run';

// What a person may send a story, and when: the review and budget Updates with their validators (a refused Update
// leaves no trace in the history), each applied once per update id.

/** Update ids remembered (with their answers) so a retried review is applied once, across continue-as-new too. */
const REMEMBERED_UPDATES = 200;

/** Registers the story's review, budget and progress handlers. */
export function installReviewHandlers(run: StoryRun): void {
  const { state } = run;
  setHandler(
    reviewKeyframes,
    (raw) => {
      const earlier = alreadyApplied(run);
      if (earlier) return { ...earlier, duplicate: true };
      const review = checkKeyframeReview(run, raw);
      for (const pick of review.picks) state.progress.keyframes[pick.boundary].picked = pick.variation;
      if (review.regenerate.length) state.review.regenerate.push(...review.regenerate);
      else if (review.approve) state.review.approved = true;
      const round = Math.max(...state.progress.keyframes.map((k) => k.round));
      return remember(run, {
        storyId: run.storyId,
        what: 'keyframes',
        round,
        stage: state.progress.stage,
        duplicate: false,
      });
    },
    { validator: (raw) => void (alreadyApplied(run) ?? checkKeyframeReview(run, raw)) }
  );
  setHandler(
    reviewShot,
    (raw) => {
      const earlier = alreadyApplied(run);
      if (earlier) return { ...earlier, duplicate: true };
      const review = checkShotReview(run, raw);
      run.shotDecisions.set(review.shot, review);
      return remember(run, {
        storyId: run.storyId,
        what: 'shot',
        shot: review.shot,
        stage: state.progress.stage,
        duplicate: false,
      });
    },
    { validator: (raw) => void (alreadyApplied(run) ?? checkShotReview(run, raw)) }
  );
  setHandler(
    raiseBudget,
    (raw) => {
      state.progress.cost.budgetCredits = parseWith(raiseBudgetSchema, raw, 'budget').budgetCredits;
      return state.progress.cost;
    },
    {
      validator: (raw) => {
        const { budgetCredits } = parseOrReject(() => parseWith(raiseBudgetSchema, raw, 'budget'));
        const current = state.progress.cost.budgetCredits;
        if (current !== undefined && budgetCredits <= current) {
          throw failure(
            FailureType.InvalidReview,
            `budgetCredits: ${budgetCredits} is not above the current budget of ${current}`
          );
        }
      },
    }
  );
  setHandler(progress, () => progressOf(run));
}

function alreadyApplied(run: StoryRun): ReviewAck | undefined {
  const id = currentUpdateInfo()?.id;
  return id === undefined ? undefined : run.state.applied.find((a) => a.updateId === id)?.ack;
}

function remember(run: StoryRun, ack: ReviewAck): ReviewAck {
  const id = currentUpdateInfo()?.id;
  if (id !== undefined) {
    run.state.applied.push({ updateId: id, ack });
    if (run.state.applied.length > REMEMBERED_UPDATES) run.state.applied.shift();
  }
  return ack;
}

function checkKeyframeReview(run: StoryRun, raw: KeyframeReviewInput): KeyframeReview {
  const { progress: p } = run.state;
  if (p.stage !== 'awaiting-keyframe-review') {
    throw failure(
      FailureType.NotAwaitingReview,
      `story ${run.storyId} is in stage '${p.stage}', not waiting for a keyframe review`
    );
  }
  const review = parseOrReject(() => parseWith(keyframeReviewSchema, raw, 'keyframe review'));
  const issues: string[] = [];
  const last = p.keyframes.length - 1;
  review.picks.forEach((pick, i) => {
    const kf = p.keyframes[pick.boundary];
    if (!kf) issues.push(`picks[${i}].boundary: no boundary ${pick.boundary} (this story has 0..${last})`);
    else if (kf.variations[pick.variation]?.state !== 'ready') {
      const ready = kf.variations.filter((v) => v.state === 'ready').map((v) => v.index);
      issues.push(
        `picks[${i}].variation: boundary ${pick.boundary} has no ready variation ${pick.variation} (ready: ${ready.join(', ')})`
      );
    }
  });
  review.regenerate.forEach((r, i) => {
    const kf = p.keyframes[r.boundary];
    if (!kf) issues.push(`regenerate[${i}].boundary: no boundary ${r.boundary} (this story has 0..${last})`);
    else if (run.spec.keyframes?.[r.boundary]) {
      issues.push(`regenerate[${i}].boundary: boundary ${r.boundary} was supplied by the story, not generated`);
    } else if (kf.round >= run.spec.review.maxRounds) {
      issues.push(
        `regenerate[${i}].boundary: boundary ${r.boundary} has had its ${run.spec.review.maxRounds} rounds ` +
          `(review.maxRounds); pick one of its variations`
      );
    }
  });
  if (issues.length) throw failure(FailureType.InvalidReview, issues.join('; '));
  return review;
}

function checkShotReview(run: StoryRun, raw: ShotReview): ShotReview {
  const review = parseOrReject(() => parseWith(shotReviewSchema, raw, 'shot review'));
  const shot = run.state.progress.shots[review.shot];
  if (!shot) {
    throw failure(
      FailureType.InvalidReview,
      `shot: no shot ${review.shot} (this story has 0..${run.state.progress.shots.length - 1})`
    );
  }
  if (shot.state !== 'awaiting-review' || run.shotDecisions.has(review.shot)) {
    throw failure(
      FailureType.NotAwaitingReview,
      `shot ${review.shot + 1} is '${shot.state}', not waiting for a review`
    );
  }
  return review;
}

/** Turns a schema error into the failure an update validator answers with. */
function parseOrReject<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ValidationError) throw failure(FailureType.InvalidReview, err.message);
    throw err;
  }
}
