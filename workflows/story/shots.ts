import { log, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { MediaActivities } from '../../activities';
import { clipAttemptKey } from '../../common/constants';
import { failure, FailureType } from '../../common/failures';
import { providerName, type VideoModel } from '../../common/models';
import type { AssetRef, ShotProgress } from '../../common/progress';
import { clipCredits, roundMoney } from '../../common/pricing';
import { shotRoute } from '../../common/story';
import { mediaOptions } from '../activity-options';
import { mapWithLimit } from '../concurrency';
import { upsertAttempt } from './attempts';
import { reserve, unreserve } from './budget';
import { FALLBACK_PATCH, runClipAttempt, type ShotModel, type TriedAttempt } from './clip-attempt';
import type { Notifier } from './notifications';
import { awaitClipDecision } from './review';
import { line } from '../../common/summaries';
import { setStage, showDetails, type StoryRun } from './run';

/** Marks runs that show `awaiting-clip-review`; runs recorded before it replay without the stage changes. */
const CLIP_REVIEW_STAGE_PATCH = 'awaiting-clip-review-stage';
/** Pause before a failed generation is tried again; doubles with each failure up to the run's maximum. */
const RETRY_BASE_DELAY_MS = 2000;

/** The approved keyframe of a boundary. */
export function approvedKeyframe(run: StoryRun, boundary: number): AssetRef {
  const kf = run.state.progress.keyframes[boundary];
  const { key, path, url } = kf.variations[kf.picked ?? 0];
  return { ...(key && { key }), ...(path && { path }), url: url! };
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
      frame0 = await media.cutLastFrame.executeWithOptions({ summary: line(`shot ${i + 1}`, 'cut last frame') }, [
        {
          storyId: run.storyId,
          name: `${run.assetBase}/frames/shot-${i + 1}-last.png`,
          clip: clips[i],
        },
      ]);
    }
  }
  return clips;
}

/**
 * One shot: paid attempts (each its own child workflow, each checked against the budget first) until a clip is
 * made and, where the story asks for it, approved. Failed generations are retried after a pause; refusals, timeouts
 * and running out of attempts fail the shot. A shot with a fallback model (of another provider) moves to it when its
 * provider fails it for a reason that is not the content: a create that kept failing past its retries (an outage,
 * 429s, no credits), no clip within the generation timeout, or every attempt failed at the provider; the fallback
 * then gets attempts of its own.
 */
async function runShot(run: StoryRun, notifier: Notifier, i: number, frame0: AssetRef): Promise<AssetRef> {
  const { spec } = run;
  const shotSpec = spec.shots[i];
  const shot = run.state.progress.shots[i];
  const route = shotRoute(spec, i);
  const feedback: string[] = [];
  let current: ShotModel = { model: route.model, provider: route.provider, fallback: false };
  let attemptsOnModel = 0;
  showModel(shot, current);
  const costOf = (model: VideoModel) =>
    clipCredits(run.prices, model, {
      durationSeconds: shotSpec.duration,
      resolution: spec.resolution,
      frame0: true,
      frame1: true,
    });
  /** Moves the shot to its fallback, when it has one and this run may. */
  const fallBack = (why: string): boolean => {
    if (!route.fallback || current.fallback || !patched(FALLBACK_PATCH)) return false;
    log.warn('shot falls back to another provider', {
      shot: i + 1,
      from: current.model,
      to: route.fallback.model,
      why,
    });
    current = { model: route.fallback.model, provider: route.fallback.provider, fallback: true };
    attemptsOnModel = 0;
    failuresInARow = 0;
    showModel(shot, current);
    return true;
  };
  let failuresInARow = 0;
  for (;;) {
    const n = shot.attempts.length + 1;
    if (attemptsOnModel >= spec.maxClipAttempts) {
      const last = shot.attempts.at(-1);
      const providerFailed = last?.state === 'failed' && !last.failureReason?.startsWith('clip check failed');
      if (providerFailed && fallBack(`every attempt failed at ${current.provider}`)) continue;
      shot.state = 'failed';
      throw failure(
        FailureType.ShotFailed,
        `shot ${i + 1}: no usable clip after ${attemptsOnModel} attempts${route.fallback ? ` on ${current.model}` : ''} ` +
          `(last: ${last?.feedback ? `rejected: ${last.feedback}` : (last?.failureReason ?? 'unknown')}); ` +
          'raise maxClipAttempts or change the shot'
      );
    }
    attemptsOnModel++;
    shot.state = 'generating';
    showWhoIsWaited(run);
    const key = clipAttemptKey(run.keyBase, i, n);
    const cost = costOf(current.model);
    upsertAttempt(shot.attempts, { attempt: n, state: 'waiting-for-slot', credits: 0 });
    showDetails(run);
    await reserve(run, cost, `shot ${i + 1} attempt ${n}`);
    let tried: TriedAttempt;
    try {
      tried = await runClipAttempt(run, {
        shot: i,
        n,
        key,
        cost,
        current,
        frame0,
        frame1: approvedKeyframe(run, i + 1),
        feedback,
        hasFallback: route.fallback !== undefined,
      });
    } finally {
      unreserve(run, cost);
    }
    const { refused, outage } = tried;
    let attempt = tried.attempt;
    attempt = upsertAttempt(shot.attempts, attempt);
    shot.credits = roundMoney(shot.attempts.reduce((sum, a) => sum + a.credits, 0));
    showDetails(run);
    if (outage && fallBack(attempt.failureReason ?? 'the provider failed')) continue;

    if (attempt.state === 'completed' && attempt.clip) {
      failuresInARow = 0;
      shot.clip = attempt.clip;
      if (!spec.review.clips) {
        shot.state = 'done';
        return attempt.clip;
      }
      shot.state = 'awaiting-review';
      showWhoIsWaited(run);
      const decision = await awaitClipDecision(run, notifier, i);
      if (decision.decision === 'approve') {
        attempt.state = 'approved';
        shot.state = 'done';
        showWhoIsWaited(run);
        return attempt.clip;
      }
      Object.assign(attempt, { state: 'rejected', feedback: decision.feedback });
      feedback.push(decision.feedback!);
      continue;
    }
    if (refused) {
      shot.state = 'failed';
      throw failure(
        FailureType.ProviderRefused,
        `shot ${i + 1}: ${providerName(current.provider)} refused the generation: ${attempt.failureReason}; ` +
          "change the shot's description"
      );
    }
    if (attempt.state === 'timed-out') {
      if (fallBack('no clip within the generation timeout')) continue;
      shot.state = 'failed';
      throw failure(
        FailureType.GenerationTimedOut,
        `shot ${i + 1}: ${providerName(current.provider)} made no clip within generationTimeout (${spec.generationTimeout}); ` +
          'the generation was stopped; try again later or raise generationTimeout'
      );
    }
    failuresInARow++;
    log.warn('clip attempt failed; trying again', { shot: i + 1, attempt: n, reason: attempt.failureReason });
    await sleep(Math.min(RETRY_BASE_DELAY_MS * 2 ** (failuresInARow - 1), run.timings.maxRetryDelayMs), {
      summary: line(`shot ${i + 1}`, `pause before attempt ${n + 1}`),
    });
  }
}

/** Shows the shot's model and provider in its progress. */
function showModel(shot: ShotProgress, current: ShotModel): void {
  shot.model = current.model;
  shot.provider = current.provider;
}

/**
 * While shots are made, the stage says whether the story waits on a person: `awaiting-clip-review` when some clip
 * waits for a verdict and no shot is being made, so reviewers and operators can find it; `shots` otherwise.
 */
function showWhoIsWaited(run: StoryRun): void {
  // Stories recorded before the stage existed keep their history: the marker is only written by new runs.
  if (!patched(CLIP_REVIEW_STAGE_PATCH)) return;
  const { progress } = run.state;
  if (progress.stage !== 'shots' && progress.stage !== 'awaiting-clip-review') return;
  const waiting =
    progress.shots.some((s) => s.state === 'awaiting-review') && !progress.shots.some((s) => s.state === 'generating');
  const stage = waiting ? 'awaiting-clip-review' : 'shots';
  if (stage !== progress.stage) setStage(run, stage);
}
