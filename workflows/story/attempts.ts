import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  log,
  proxyActivities,
  setHandler,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { IoActivities } from '../../activities';
import { FailureType } from '../../common/failures';
import type { SweepInput } from '../../common/generations';
import type { ProviderId } from '../../common/models';
import type { ClipAttempt } from '../../common/progress';
import { generationCredits, roundMoney } from '../../common/pricing';
import { settleOptions, sweepOptions } from '../activity-options';
import { innermostMessage } from '../parent';
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

/** Where an attempt ran: its model and the model's provider. */
export interface AttemptTarget {
  model: string;
  provider: ProviderId;
}

/** The sweep targets of one attempt: its provider and model (Luma's sweep, as recorded, names none). */
function targetsOf(at: AttemptTarget): Pick<SweepInput, 'targets'> {
  return at.provider === 'luma' ? {} : { targets: [{ provider: at.provider, models: [at.model] }] };
}

/** Finds what a broken attempt's key paid for (stopping it if still in flight) and records the attempt as failed. */
export async function settleBrokenAttempt(
  run: StoryRun,
  shot: number,
  n: number,
  key: string,
  err: ChildWorkflowFailure,
  at: AttemptTarget
): Promise<ClipAttempt> {
  const sweeper = proxyActivities<IoActivities>(sweepOptions(run.queues));
  const found = await sweeper.sweepGenerations.executeWithOptions(
    { summary: line(`shot ${shot + 1}`, `settle attempt ${n}`, 'find and stop its generations') },
    [{ keyPrefix: key, sinceMs: run.state.startedAtMs, ...targetsOf(at) }]
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
    provider: at.provider,
    model: at.model,
    state: 'failed',
    generationId: found[0]?.generationId,
    credits: roundMoney(paid.reduce((sum, p) => sum + p.credits, 0)),
    failureReason: `the attempt's workflow was ${err.cause instanceof TerminatedFailure ? 'terminated' : 'timed out'}`,
  };
}

/**
 * Whether a clip attempt failed because its provider kept failing the create past its retries (an outage, 5xx,
 * 429s, a refused key, no credits), not because of the request: the one failure a fallback provider can help with.
 */
export function isProviderFailure(err: unknown): boolean {
  let current: unknown = err;
  let activity: ActivityFailure | undefined;
  while (current instanceof ChildWorkflowFailure || current instanceof ActivityFailure) {
    if (current instanceof ActivityFailure) activity = current;
    current = current.cause;
  }
  if (activity?.activityType !== 'submitVideoGeneration') return false;
  return !(
    current instanceof ApplicationFailure &&
    (current.type === FailureType.BadInput || current.type === FailureType.ProviderRefused)
  );
}

/**
 * Settles an attempt whose provider failed its create before the shot falls back: stops and records whatever the key
 * left there (a create that landed although its answer was lost). A provider that cannot answer even that is asked
 * again at the end of the story (`unsettled`); a failed or cancelled story sweeps every key anyway.
 */
export async function settleFailedAttempt(
  run: StoryRun,
  shot: number,
  n: number,
  key: string,
  err: unknown,
  at: AttemptTarget
): Promise<ClipAttempt> {
  const reason = `${at.provider} failed the create: ${innermostMessage(err)}`;
  const sweeper = proxyActivities<IoActivities>(settleOptions(run.queues));
  let paid: ReturnType<typeof paidFromSweep> = [];
  let found: Awaited<ReturnType<IoActivities['sweepGenerations']>> = [];
  try {
    found = await sweeper.sweepGenerations({
      keyPrefix: key,
      sinceMs: run.state.startedAtMs,
      targets: [{ provider: at.provider, models: [at.model] }],
    });
    paid = paidFromSweep(
      found,
      () => `shot ${shot + 1} attempt ${n}`,
      (g) => generationCredits(run.prices, g.price)
    );
    recordPaid(run, paid);
  } catch (sweepErr) {
    log.warn('could not ask the failed provider what the attempt left; asking again at the end', {
      shot: shot + 1,
      attempt: n,
      error: innermostMessage(sweepErr),
    });
    (run.state.unsettled ??= []).push({ key, provider: at.provider, model: at.model });
  }
  return {
    attempt: n,
    provider: at.provider,
    model: at.model,
    state: 'failed',
    generationId: found[0]?.generationId,
    credits: roundMoney(paid.reduce((sum, p) => sum + p.credits, 0)),
    failureReason: reason,
  };
}

/** Merges an attempt's news into the shot's list and returns the stored attempt. */
export function upsertAttempt(attempts: ClipAttempt[], attempt: ClipAttempt): ClipAttempt {
  const stored = attempts.find((a) => a.attempt === attempt.attempt);
  if (stored) return Object.assign(stored, attempt);
  attempts.push({ ...attempt });
  return attempts[attempts.length - 1];
}
