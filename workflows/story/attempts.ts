import {
  ChildWorkflowFailure,
  log,
  proxyActivities,
  setHandler,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { IoActivities } from '../../activities';
import type { ClipAttempt } from '../../common/progress';
import { generationCredits, roundMoney } from '../../common/pricing';
import { sweepOptions } from '../activity-options';
import { attemptUpdated } from '../messages';
import { paidFromSweep } from '../paid';
import { recordPaid } from './budget';
import { line } from '../../common/summaries';
import { showDetails, type StoryRun } from './run';

// A shot's paid attempts as the story keeps them: news from the clip workflows, and the settling of an attempt
// whose workflow someone else ended.

/** Keeps the story's shot progress and ledger current as clip attempts report. */
export function followClipAttempts(run: StoryRun): void {
  setHandler(attemptUpdated, ({ shot, attempt, paid }) => {
    const progress = run.state.progress.shots[shot];
    if (!progress) return;
    upsertAttempt(progress.attempts, attempt);
    if (progress.state === 'pending') progress.state = 'generating';
    recordPaid(run, paid);
    showDetails(run);
  });
}

/** Whether a clip attempt's workflow was ended by someone else (terminated, timed out) rather than by itself. */
export function isBrokenChild(err: unknown): err is ChildWorkflowFailure {
  return (
    err instanceof ChildWorkflowFailure &&
    (err.cause instanceof TerminatedFailure || err.cause instanceof TimeoutFailure)
  );
}

/** Finds what a broken attempt's key paid for (stopping it if still in flight) and records the attempt as failed. */
export async function settleBrokenAttempt(
  run: StoryRun,
  shot: number,
  n: number,
  key: string,
  err: ChildWorkflowFailure
): Promise<ClipAttempt> {
  const sweeper = proxyActivities<IoActivities>(sweepOptions(run.queues));
  const found = await sweeper.sweepGenerations.executeWithOptions(
    { summary: line(`shot ${shot + 1}`, `settle attempt ${n}`, 'find and stop its generations') },
    [{ keyPrefix: key, sinceMs: run.state.startedAtMs }]
  );
  const paid = paidFromSweep(
    found,
    () => `shot ${shot + 1} attempt ${n}`,
    (g) => generationCredits(run.prices, g.price)
  );
  recordPaid(run, paid);
  log.warn('clip attempt workflow ended abnormally; its generations were settled', {
    shot: shot + 1,
    attempt: n,
    found: found.length,
  });
  return {
    attempt: n,
    state: 'failed',
    generationId: found[0]?.generationId,
    credits: roundMoney(paid.reduce((sum, p) => sum + p.credits, 0)),
    failureReason: `the attempt's workflow was ${err.cause instanceof TerminatedFailure ? 'terminated' : 'timed out'}`,
  };
}

/** Merges an attempt's news into the shot's list and returns the stored attempt. */
export function upsertAttempt(attempts: ClipAttempt[], attempt: ClipAttempt): ClipAttempt {
  const stored = attempts.find((a) => a.attempt === attempt.attempt);
  if (stored) return Object.assign(stored, attempt);
  attempts.push({ ...attempt });
  return attempts[attempts.length - 1];
}
