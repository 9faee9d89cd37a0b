import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  currentUpdateInfo,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { FailureType } from '../../common/failures';
import {
  keyframeReviewSchema,
  raiseBudgetSchema,
  shotReviewSchema,
  type KeyframeReview,
  type KeyframeReviewInput,
  type ReviewAck,
  type ShotReview,
  type StoryResult,
  type StoryWorkflowInput,
} from '../../common/messages';
import { parseWith, ValidationError } from '../../common/story';
import { progress, raiseBudget, reviewKeyframes, reviewShot } from '../messages';
import { progressOf } from './closing';
import type { Notifier } from './notifications';
import { setStage, type StoryRun } from './run';

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
          throw ApplicationFailure.create({
            type: 'InvalidReview',
            message: `budgetCredits: ${budgetCredits} is not above the current budget of ${current}`,
          });
        }
      },
    }
  );
  setHandler(progress, () => progressOf(run));
}

/**
 * Waits until a person approves the keyframes, regenerating boundaries they ask for (each a new round, capped by
 * `review.maxRounds`). Continues as new while waiting when the history has grown long, so review loops that last
 * days stay far inside Temporal's limits.
 */
export async function awaitKeyframeApproval(
  run: StoryRun,
  notifier: Notifier,
  remake: (boundaries: number[]) => Promise<void>
): Promise<void> {
  const { state } = run;
  while (!state.review.approved) {
    setStage(run, 'awaiting-keyframe-review');
    const notice = `keyframes:${state.keyframeRounds}`;
    if (state.review.notice !== notice) {
      notifier.notify('story.needs-review', { review: { what: 'keyframes' } });
      Object.assign(state.review, { notice, deadlineMs: Date.now() + run.reviewTimeoutMs });
    }
    await continueAsNewIfLong(run, notifier);
    const waitMs = Math.max(1, (state.review.deadlineMs ?? Date.now() + run.reviewTimeoutMs) - Date.now());
    const answered = await condition(() => state.review.approved || state.review.regenerate.length > 0, waitMs);
    if (!answered) {
      if (run.spec.review.onTimeout !== 'approve') {
        throw ApplicationFailure.create({
          type: FailureType.ReviewTimedOut,
          message: `nobody reviewed the keyframes within ${run.spec.review.timeout}`,
          nonRetryable: true,
        });
      }
      log.info('keyframe review timed out; approving the current picks', { storyId: run.storyId });
      state.review.approved = true;
      break;
    }
    if (state.review.regenerate.length) {
      const batch = state.review.regenerate.splice(0);
      for (const r of batch) {
        const kf = state.progress.keyframes[r.boundary];
        if (r.prompt) kf.prompt = r.prompt;
        kf.round += 1;
      }
      setStage(run, 'keyframes');
      await remake([...new Set(batch.map((r) => r.boundary))]);
    }
  }
}

/** Waits for a person's verdict on a shot's clip (or applies `review.onTimeout`). */
export async function awaitClipDecision(run: StoryRun, notifier: Notifier, shot: number): Promise<ShotReview> {
  notifier.notify('story.needs-review', { review: { what: 'shot', shot: shot + 1 } });
  const answered = await condition(() => run.shotDecisions.has(shot), run.reviewTimeoutMs);
  const decision = run.shotDecisions.get(shot);
  run.shotDecisions.delete(shot);
  if (answered && decision) return decision;
  if (run.spec.review.onTimeout === 'approve') return { shot, decision: 'approve' };
  throw ApplicationFailure.create({
    type: FailureType.ReviewTimedOut,
    message: `nobody reviewed the clip of shot ${shot + 1} within ${run.spec.review.timeout}`,
    nonRetryable: true,
  });
}

async function continueAsNewIfLong(run: StoryRun, notifier: Notifier): Promise<void> {
  const info = workflowInfo();
  if (!info.continueAsNewSuggested && info.historyLength <= run.timings.continueAsNewEvents) return;
  await notifier.flushed();
  await condition(allHandlersFinished);
  log.info('story continues as new while it waits for review', { storyId: run.storyId, events: info.historyLength });
  await continueAsNew<(input: StoryWorkflowInput) => Promise<StoryResult>>({ ...run.input, resume: run.state });
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
    throw ApplicationFailure.create({
      type: 'NotAwaitingReview',
      message: `story ${run.storyId} is in stage '${p.stage}', not waiting for a keyframe review`,
    });
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
  if (issues.length) throw ApplicationFailure.create({ type: 'InvalidReview', message: issues.join('; ') });
  return review;
}

function checkShotReview(run: StoryRun, raw: ShotReview): ShotReview {
  const review = parseOrReject(() => parseWith(shotReviewSchema, raw, 'shot review'));
  const shot = run.state.progress.shots[review.shot];
  if (!shot) {
    throw ApplicationFailure.create({
      type: 'InvalidReview',
      message: `shot: no shot ${review.shot} (this story has 0..${run.state.progress.shots.length - 1})`,
    });
  }
  if (shot.state !== 'awaiting-review' || run.shotDecisions.has(review.shot)) {
    throw ApplicationFailure.create({
      type: 'NotAwaitingReview',
      message: `shot ${review.shot + 1} is '${shot.state}', not waiting for a review`,
    });
  }
  return review;
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
