import {
  ApplicationFailure,
  ChildWorkflowFailure,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  sleep,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { IoActivities, MediaActivities } from '../../activities';
import { FailureType } from '../../common/failures';
import type { AssetRef, ClipAttempt } from '../../common/messages';
import { generationCredits, roundMoney, videoCredits } from '../../common/pricing';
import { composeShotPrompt } from '../../common/story';
import { mediaOptions, sweepOptions } from '../activity-options';
import { clipWorkflow } from '../clip';
import { mapWithLimit } from '../concurrency';
import { attemptUpdated } from '../messages';
import { paidFromSweep } from '../paid';
import { recordPaid, reserve, unreserve } from './budget';
import type { Notifier } from './notifications';
import { awaitClipDecision } from './review';
import type { StoryRun } from './run';

/** Pause before a failed generation is tried again; doubles with each failure up to the run's maximum. */
const RETRY_BASE_DELAY_MS = 2000;

/** Keeps the story's shot progress and ledger current as clip attempts report. */
export function followClipAttempts(run: StoryRun): void {
  setHandler(attemptUpdated, ({ shot, attempt, paid }) => {
    const progress = run.state.progress.shots[shot];
    if (!progress) return;
    upsertAttempt(progress.attempts, attempt);
    if (progress.state === 'pending') progress.state = 'generating';
    recordPaid(run, paid);
  });
}

/** The approved keyframe of a boundary. */
export function approvedKeyframe(run: StoryRun, boundary: number): AssetRef {
  const kf = run.state.progress.keyframes[boundary];
  const v = kf.variations[kf.picked ?? 0];
  return { path: v.path!, url: v.url! };
}

/**
 * Makes every shot's clip: all at once under `maxParallelShots`, or chained, each shot starting from the true last
 * frame of the clip before. Returns the clips in order.
 */
export async function runShots(run: StoryRun, notifier: Notifier): Promise<AssetRef[]> {
  const n = run.spec.shots.length;
  if (run.spec.mode === 'parallel') {
    return mapWithLimit(
      run.spec.shots.map((_, i) => i),
      run.spec.maxParallelShots,
      (i) => runShot(run, notifier, i, approvedKeyframe(run, i))
    );
  }
  const media = proxyActivities<MediaActivities>(mediaOptions(run.queues));
  const clips: AssetRef[] = [];
  let frame0 = approvedKeyframe(run, 0);
  for (let i = 0; i < n; i++) {
    clips.push(await runShot(run, notifier, i, frame0));
    if (i + 1 < n) {
      frame0 = await media.cutLastFrame({
        storyId: run.storyId,
        name: `${run.assetBase}/frames/shot-${i + 1}-last.png`,
        clipPath: clips[i].path,
      });
    }
  }
  return clips;
}

/**
 * One shot: paid attempts (each its own child workflow, each checked against the budget first) until a clip is
 * made and, where the story asks for it, approved. Failed generations are retried after a pause; refusals, timeouts
 * and running out of attempts fail the shot.
 */
async function runShot(run: StoryRun, notifier: Notifier, i: number, frame0: AssetRef): Promise<AssetRef> {
  const { spec } = run;
  const shotSpec = spec.shots[i];
  const shot = run.state.progress.shots[i];
  const feedback: string[] = [];
  const cost = videoCredits(run.prices, {
    durationSeconds: shotSpec.duration,
    resolution: spec.resolution,
    frame0: true,
    frame1: true,
  });
  let failuresInARow = 0;
  for (;;) {
    const n = shot.attempts.length + 1;
    if (n > spec.maxClipAttempts) {
      shot.state = 'failed';
      const last = shot.attempts.at(-1);
      throw ApplicationFailure.create({
        type: FailureType.ShotFailed,
        message:
          `shot ${i + 1}: no usable clip after ${spec.maxClipAttempts} attempts ` +
          `(last: ${last?.feedback ? `rejected: ${last.feedback}` : (last?.failureReason ?? 'unknown')}); ` +
          'raise maxClipAttempts or change the shot',
        nonRetryable: true,
      });
    }
    shot.state = 'generating';
    const key = `${run.keyBase}/shot/${i + 1}/a${n}`;
    upsertAttempt(shot.attempts, { attempt: n, state: 'waiting-for-slot', credits: 0 });
    await reserve(run, cost, `shot ${i + 1} attempt ${n}`);
    let attempt: ClipAttempt;
    let refused = false;
    try {
      const result = await executeChild(clipWorkflow, {
        workflowId: `${run.storyId}-shot-${i + 1}-attempt-${n}`,
        taskQueue: run.queues.workflows,
        args: [
          {
            storyId: run.storyId,
            shot: i,
            attempt: n,
            key,
            sinceMs: Date.now(),
            prompt: composeShotPrompt(spec.style, shotSpec.description, feedback),
            model: spec.videoModel,
            aspectRatio: spec.aspectRatio,
            resolution: spec.resolution,
            durationSeconds: shotSpec.duration,
            width: run.frame.width,
            height: run.frame.height,
            frame0,
            frame1: approvedKeyframe(run, i + 1),
            assetName: `${run.assetBase}/clips/shot-${i + 1}-attempt-${n}.mp4`,
            generationTimeoutMs: run.generationTimeoutMs,
            creditsPerAttempt: cost,
            queues: run.queues,
            gate: run.gate,
            pollWindowMs: run.timings.pollWindowMs,
            gateRecheckMs: run.timings.gateRecheckMs,
          },
        ],
      });
      recordPaid(run, result.paid);
      attempt = result.attempt;
      refused = result.refused;
    } catch (err) {
      if (!isBrokenChild(err)) throw err;
      // Terminated or timed out by someone else: account for what its key paid and try again.
      attempt = await settleBrokenAttempt(run, i, n, key, err);
    } finally {
      unreserve(run, cost);
    }
    attempt = upsertAttempt(shot.attempts, attempt);
    shot.credits = roundMoney(shot.attempts.reduce((sum, a) => sum + a.credits, 0));

    if (attempt.state === 'completed' && attempt.clip) {
      failuresInARow = 0;
      shot.clip = attempt.clip;
      if (!spec.review.clips) {
        shot.state = 'done';
        return attempt.clip;
      }
      shot.state = 'awaiting-review';
      const decision = await awaitClipDecision(run, notifier, i);
      if (decision.decision === 'approve') {
        attempt.state = 'approved';
        shot.state = 'done';
        return attempt.clip;
      }
      Object.assign(attempt, { state: 'rejected', feedback: decision.feedback });
      feedback.push(decision.feedback!);
      continue;
    }
    if (refused) {
      shot.state = 'failed';
      throw ApplicationFailure.create({
        type: FailureType.ProviderRefused,
        message: `shot ${i + 1}: Luma refused the generation: ${attempt.failureReason}; change the shot's description`,
        nonRetryable: true,
      });
    }
    if (attempt.state === 'timed-out') {
      shot.state = 'failed';
      throw ApplicationFailure.create({
        type: FailureType.GenerationTimedOut,
        message:
          `shot ${i + 1}: Luma made no clip within generationTimeout (${spec.generationTimeout}); ` +
          'the generation was stopped; try again later or raise generationTimeout',
        nonRetryable: true,
      });
    }
    failuresInARow++;
    log.warn('clip attempt failed; trying again', { shot: i + 1, attempt: n, reason: attempt.failureReason });
    await sleep(Math.min(RETRY_BASE_DELAY_MS * 2 ** (failuresInARow - 1), run.timings.maxRetryDelayMs));
  }
}

function isBrokenChild(err: unknown): err is ChildWorkflowFailure {
  return (
    err instanceof ChildWorkflowFailure &&
    (err.cause instanceof TerminatedFailure || err.cause instanceof TimeoutFailure)
  );
}

/** Finds what a broken attempt's key paid for (stopping it if still in flight) and records the attempt as failed. */
async function settleBrokenAttempt(
  run: StoryRun,
  shot: number,
  n: number,
  key: string,
  err: ChildWorkflowFailure
): Promise<ClipAttempt> {
  const sweeper = proxyActivities<IoActivities>(sweepOptions(run.queues));
  const found = await sweeper.sweepGenerations({ keyPrefix: key, sinceMs: run.state.startedAtMs });
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
function upsertAttempt(attempts: ClipAttempt[], attempt: ClipAttempt): ClipAttempt {
  const stored = attempts.find((a) => a.attempt === attempt.attempt);
  if (stored) return Object.assign(stored, attempt);
  attempts.push({ ...attempt });
  return attempts[attempts.length - 1];
}
