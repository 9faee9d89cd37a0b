import { executeChild, patched } from '@temporalio/workflow';
import { clipAttemptWorkflowId } from '../../common/constants';
import { videoModelInfo, type ProviderId, type VideoModel } from '../../common/models';
import type { AssetRef, ClipAttempt } from '../../common/progress';
import { composeShotPrompt } from '../../common/story';
import { line } from '../../common/summaries';
import { clipWorkflow } from '../clip';
import { isBrokenChild, isProviderFailure, settleBrokenAttempt, settleFailedAttempt } from './attempts';
import { recordPaid } from './budget';
import type { StoryRun } from './run';

/** Marks runs that moved a shot to its fallback model; only stories naming a fallback can reach it. */
export const FALLBACK_PATCH = 'reelflow-provider-fallback';

/** The model a shot is on now, and whether it is its fallback. */
export interface ShotModel {
  model: VideoModel;
  provider: ProviderId;
  fallback: boolean;
}

/** One paid attempt of a shot, as the shot's loop plans it (its budget already reserved). */
export interface AttemptPlan {
  /** 0-based shot index. */
  shot: number;
  /** 1-based attempt number. */
  n: number;
  key: string;
  cost: number;
  current: ShotModel;
  frame0: AssetRef;
  frame1: AssetRef;
  /** Reviewers' feedback on the shot's earlier clips, folded into the prompt. */
  feedback: string[];
  hasFallback: boolean;
}

/** What an attempt left: its record, whether the provider refused the content, whether the provider was down. */
export interface TriedAttempt {
  attempt: ClipAttempt;
  refused: boolean;
  outage: boolean;
}

/**
 * Runs one attempt as its own child workflow (`clipWorkflow`) and records what it paid. A child that someone else
 * terminated or timed out, or whose provider kept failing the create while the shot has a fallback, is settled by
 * its key (what it may have paid is found and counted) instead of failing the story.
 */
export async function runClipAttempt(run: StoryRun, a: AttemptPlan): Promise<TriedAttempt> {
  const { spec } = run;
  const shotSpec = spec.shots[a.shot];
  const { current } = a;
  try {
    const result = await executeChild(clipWorkflow, {
      workflowId: clipAttemptWorkflowId(run.storyId, a.shot, a.n),
      taskQueue: run.queues.workflows,
      staticSummary: line(
        `shot ${a.shot + 1}`,
        `attempt ${a.n}`,
        `${current.model} ${shotSpec.duration} s ${spec.resolution}`,
        a.feedback.length > 0 && `after ${a.feedback.length} rejection${a.feedback.length === 1 ? '' : 's'}`
      ),
      staticDetails: composeShotPrompt(spec.style, shotSpec.description, a.feedback),
      args: [
        {
          storyId: run.storyId,
          shot: a.shot,
          attempt: a.n,
          key: a.key,
          sinceMs: Date.now(),
          prompt: composeShotPrompt(
            spec.style,
            shotSpec.description,
            a.feedback,
            videoModelInfo(current.model)?.maxPromptLength
          ),
          model: current.model,
          ...(current.fallback && { fallback: true }),
          aspectRatio: spec.aspectRatio,
          resolution: spec.resolution,
          durationSeconds: shotSpec.duration,
          width: run.frame.width,
          height: run.frame.height,
          frame0: a.frame0,
          frame1: a.frame1,
          assetName: `${run.assetBase}/clips/shot-${a.shot + 1}-attempt-${a.n}.mp4`,
          generationTimeoutMs: run.generationTimeoutMs,
          creditsPerAttempt: a.cost,
          queues: run.queues,
          gate: current.provider === 'luma' ? run.gate : run.gateOf(current.provider),
          pollWindowMs: run.timings.pollWindowMs,
          gateRecheckMs: run.timings.gateRecheckMs,
          ...(a.hasFallback && { submitGiveUpMs: run.timings.submitGiveUpMs }),
        },
      ],
    });
    recordPaid(run, result.paid);
    return { attempt: result.attempt, refused: result.refused, outage: false };
  } catch (err) {
    if (isBrokenChild(err)) {
      // Terminated or timed out by someone else: account for what its key paid and try again.
      const attempt = await settleBrokenAttempt(run, a.shot, a.n, a.key, err, current);
      return { attempt, refused: false, outage: false };
    }
    if (a.hasFallback && !current.fallback && isProviderFailure(err) && patched(FALLBACK_PATCH)) {
      // The provider kept failing the create: settle what the key may have left there, then fall back.
      const attempt = await settleFailedAttempt(run, a.shot, a.n, a.key, err, current);
      return { attempt, refused: false, outage: true };
    }
    throw err;
  }
}
