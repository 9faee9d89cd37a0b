import { allHandlersFinished, condition, continueAsNew, log, workflowInfo } from '@temporalio/workflow';
import { failure, FailureType } from '../../common/failures';
import type { ShotReview, StoryWorkflowInput } from '../../common/messages';
import type { StoryResult } from '../../common/progress';
import type { Notifier } from './notifications';
import { humanMs, line } from '../../common/summaries';
import { recordReviewWait } from '../metrics';
import { doneWaiting, setStage, waitingFor, type StoryRun } from './run';

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
    const deadlineMs = state.review.deadlineMs ?? Date.now() + run.reviewTimeoutMs;
    const waitMs = Math.max(1, deadlineMs - Date.now());
    const round = state.keyframeRounds;
    waitingFor(
      run,
      'keyframe-review',
      `keyframe review of round ${round} (reviewKeyframes), until ${new Date(deadlineMs).toISOString()}, ` +
        `then ${run.spec.review.onTimeout}`
    );
    const answered = await condition(() => state.review.approved || state.review.regenerate.length > 0, waitMs, {
      summary: line('keyframe review', `round ${round}`, `${run.spec.review.onTimeout} in ${humanMs(waitMs)}`),
    });
    doneWaiting(run, 'keyframe-review');
    // The round's deadline was set when its review was asked for, and survives continue-as-new.
    recordReviewWait('keyframes', Date.now() - (deadlineMs - run.reviewTimeoutMs), answered);
    if (!answered) {
      if (run.spec.review.onTimeout !== 'approve') {
        throw failure(FailureType.ReviewTimedOut, `nobody reviewed the keyframes within ${run.spec.review.timeout}`);
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
  const key = `clip-review-${shot + 1}`;
  const askedAt = Date.now();
  waitingFor(run, key, `clip review of shot ${shot + 1} (reviewShot), then ${run.spec.review.onTimeout}`);
  const answered = await condition(() => run.shotDecisions.has(shot), run.reviewTimeoutMs, {
    summary: line(`shot ${shot + 1} clip review`, `${run.spec.review.onTimeout} in ${humanMs(run.reviewTimeoutMs)}`),
  });
  doneWaiting(run, key);
  recordReviewWait('clip', Date.now() - askedAt, answered);
  const decision = run.shotDecisions.get(shot);
  run.shotDecisions.delete(shot);
  if (answered && decision) return decision;
  if (run.spec.review.onTimeout === 'approve') return { shot, decision: 'approve' };
  throw failure(
    FailureType.ReviewTimedOut,
    `nobody reviewed the clip of shot ${shot + 1} within ${run.spec.review.timeout}`
  );
}

async function continueAsNewIfLong(run: StoryRun, notifier: Notifier): Promise<void> {
  const info = workflowInfo();
  if (!info.continueAsNewSuggested && info.historyLength <= run.timings.continueAsNewEvents) return;
  await notifier.flushed();
  await condition(allHandlersFinished);
  log.info('story continues as new while it waits for review', { storyId: run.storyId, events: info.historyLength });
  await continueAsNew<(input: StoryWorkflowInput) => Promise<StoryResult>>({ ...run.input, resume: run.state });
}
