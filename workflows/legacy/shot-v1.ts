import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  LumaActivitiesV1 as LumaActivities,
  MediaActivitiesV1 as MediaActivities,
  TaskQueuesV1 as TaskQueues,
} from './types-v1';
import { generationKey } from '../../common/constants';
import { FailureType, isRefusal } from '../../common/failures';
import type { AssetRef, ClipAttempt, ShotProgress } from '../../common/progress';
import type { AspectRatio, Resolution, VideoModel } from '../../common/story';
import { releaseSlot, shotUpdated, slotGranted } from './messages-v1';
import { lumaActivityOptions, lumaPollOptions, mediaActivityOptions } from './activity-options-v1';

/** Input of one take of one shot. */
export interface ShotWorkflowInput {
  storyId: string;
  shot: number;
  take: number;
  prompt: string;
  model: VideoModel;
  aspectRatio: AspectRatio;
  resolution: Resolution;
  durationSeconds: number;
  width: number;
  height: number;
  frame0: AssetRef;
  frame1?: AssetRef;
  /** Paid attempts this shot already used in earlier takes. */
  attemptsBefore: number;
  maxAttempts: number;
  /** Credits one attempt costs (charged at submit; a failed generation is refunded). */
  creditsPerAttempt: number;
  queues: TaskQueues;
  gateWorkflowId: string;
}

/** Delay before a failed generation is tried again; doubles with each further failure, up to a minute. */
const RETRY_BASE_DELAY_MS = 2000;

/** What a take produced. */
export interface ShotWorkflowResult {
  clip: AssetRef;
  attempts: ClipAttempt[];
}

/** Generates one shot's clip: waits for a Luma slot, submits once per attempt, polls, downloads and checks the clip. */
export async function shotWorkflow(input: ShotWorkflowInput): Promise<ShotWorkflowResult> {
  const luma = proxyActivities<LumaActivities>(lumaActivityOptions(input.queues));
  const lumaWait = proxyActivities<LumaActivities>(lumaPollOptions(input.queues));
  const media = proxyActivities<MediaActivities>(mediaActivityOptions(input.queues));
  const me = workflowInfo().workflowId;
  const parentId = workflowInfo().parent?.workflowId;
  const attempts: ClipAttempt[] = [];
  const granted = new Set<string>();
  setHandler(slotGranted, ({ permitId }) => void granted.add(permitId));

  const report = async (state: ShotProgress['state'], clip?: AssetRef) => {
    if (!parentId) return;
    const credits = attempts.reduce((sum, a) => sum + (a.state === 'failed' ? 0 : a.credits), 0);
    const update: ShotProgress = { index: input.shot, state, attempts, clip, credits };
    try {
      await getExternalWorkflowHandle(parentId).signal(shotUpdated, update);
    } catch (err) {
      log.warn('could not report shot progress to the story', { error: String(err) });
    }
  };

  for (let n = input.attemptsBefore + 1; n <= input.maxAttempts; n++) {
    const attempt: ClipAttempt = { attempt: n, state: 'waiting-for-slot', credits: 0 };
    attempts.push(attempt);
    await report('generating');

    const permitId = `${me}/attempt-${n}`;
    let holding = false;
    const releaseIfHeld = async () => {
      if (!holding) return;
      holding = false;
      await getExternalWorkflowHandle(input.gateWorkflowId).signal(releaseSlot, { permitId });
    };
    try {
      await luma.requestGateSlot({
        gateWorkflowId: input.gateWorkflowId,
        queues: input.queues,
        request: { permitId, requesterWorkflowId: me },
      });
      holding = true;
      await condition(() => granted.has(permitId));

      const submitted = await luma.submitVideoGeneration({
        key: generationKey(input.storyId, 'shot', input.shot + 1, 'attempt', n),
        prompt: input.prompt,
        model: input.model,
        aspectRatio: input.aspectRatio,
        resolution: input.resolution,
        durationSeconds: input.durationSeconds,
        frame0Url: input.frame0.url,
        frame1Url: input.frame1?.url,
      });
      Object.assign(attempt, {
        generationId: submitted.generationId,
        state: 'dreaming',
        credits: input.creditsPerAttempt,
      });
      await report('generating');

      const finished = await lumaWait.awaitGeneration({ generationId: submitted.generationId });
      await releaseIfHeld();
      if (finished.state === 'completed') {
        try {
          attempt.clip = await media.ingestClip({
            storyId: input.storyId,
            name: `clips/shot-${input.shot + 1}-attempt-${n}.mp4`,
            url: finished.assetUrl!,
            expected: { durationSeconds: input.durationSeconds, width: input.width, height: input.height },
          });
          attempt.state = 'completed';
          await report('done', attempt.clip);
          return { clip: attempt.clip, attempts };
        } catch (err) {
          // A clip that does not match what was asked is a failed attempt; any other trouble (a download that kept
          // failing) must not buy another generation.
          const mismatch =
            err instanceof ActivityFailure &&
            err.cause instanceof ApplicationFailure &&
            err.cause.type === FailureType.MediaCheckFailed;
          if (!mismatch) throw err;
          attempt.state = 'failed';
          attempt.failureReason = `clip check failed: ${messageOf(err)}`;
        }
      } else {
        Object.assign(attempt, { state: 'failed', credits: 0, failureReason: finished.failureReason });
        if (isRefusal(finished.failureReason)) {
          await report('failed');
          throw ApplicationFailure.create({
            type: FailureType.ProviderRefused,
            message: `shot ${input.shot + 1}: Luma refused the generation: ${finished.failureReason}`,
            nonRetryable: true,
          });
        }
      }
      await report('generating');
      log.warn('clip attempt failed; trying again', { shot: input.shot, attempt: n, reason: attempt.failureReason });
      await sleep(Math.min(RETRY_BASE_DELAY_MS * 2 ** (n - input.attemptsBefore - 1), 60_000));
    } catch (err) {
      if (isCancellation(err)) {
        attempt.state = 'cancelled';
        await CancellationScope.nonCancellable(async () => {
          if (attempt.generationId) await luma.deleteGeneration({ generationId: attempt.generationId });
          await releaseIfHeld();
          await report('cancelled');
        });
      } else {
        await CancellationScope.nonCancellable(releaseIfHeld);
        if (attempt.state !== 'failed') attempt.state = 'failed';
        attempt.failureReason ??= messageOf(err);
        await report('failed');
      }
      throw err;
    }
  }
  await report('failed');
  throw ApplicationFailure.create({
    type: FailureType.ShotFailed,
    message: `shot ${input.shot + 1}: no usable clip after ${input.maxAttempts} attempts (last: ${attempts.at(-1)?.failureReason ?? 'unknown'})`,
    nonRetryable: true,
  });
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? cause.message : err.message;
  }
  return String(err);
}
