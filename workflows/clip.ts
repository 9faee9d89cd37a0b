import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  log,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { IoActivities, MediaActivities } from '../activities';
import { FailureType } from '../common/failures';
import { providerName, providerOf, type AspectRatio, type Resolution, type VideoModel } from '../common/models';
import type { AssetRef, ClipAttempt, PaidGeneration } from '../common/progress';
import type { TaskQueues } from '../common/task-queues';
import { ioOptions, mediaOptions, submitOptions, sweepOptions } from './activity-options';
import { asCancellation, cancelledWorkflow } from './cancelled';
import { openLedger, recordNoClip, recordStopped, recordSubmitted, recordSwept } from './clip-ledger';
import { awaitGenerationOrTimeOut, listenForSettledGenerations, type GenerationOutcome } from './generation';
import { attemptUpdated } from './messages';
import { innermostMessage, tellParent } from './parent';
import { createSlotKeeper, type GateRef } from './slots';
import { line } from '../common/summaries';

/** Input of one paid attempt at one shot's clip. */
export interface ClipWorkflowInput {
  storyId: string;
  /** 0-based shot index. */
  shot: number;
  /** 1-based attempt number of this shot. */
  attempt: number;
  /** Idempotency key of this attempt's generation. */
  key: string;
  /** Epoch ms before which no generation of this key can exist. */
  sinceMs: number;
  prompt: string;
  /** The model of this attempt; its provider follows (recorded histories: Luma's models). */
  model: VideoModel;
  /** This attempt runs on the shot's fallback model. */
  fallback?: boolean;
  aspectRatio: AspectRatio;
  resolution: Resolution;
  durationSeconds: number;
  width: number;
  height: number;
  frame0: AssetRef;
  frame1?: AssetRef;
  /** Where the clip goes inside the story's asset folder. */
  assetName: string;
  generationTimeoutMs: number;
  creditsPerAttempt: number;
  queues: TaskQueues;
  gate: GateRef;
  pollWindowMs?: number;
  gateRecheckMs?: number;
  /** How long the create keeps retrying provider trouble before this attempt fails (default 1 h). */
  submitGiveUpMs?: number;
}

/** What one attempt ended with. */
export interface ClipWorkflowResult {
  attempt: ClipAttempt;
  /** Every generation this attempt paid for (its own and any duplicate of its key). */
  paid: PaidGeneration[];
  /** The provider refused the content: another attempt with the same prompt and frames cannot help. */
  refused: boolean;
}

/**
 * One paid attempt at a shot's clip: a provider slot, one create for its key, a wait bounded by the story's
 * generation timeout, the clip downloaded and checked. Reports each change to the story; on cancel it stops its
 * generation (or finds the one a cancelled create left behind) so nothing paid goes untracked.
 */
export async function clipWorkflow(input: ClipWorkflowInput): Promise<ClipWorkflowResult> {
  const info = workflowInfo();
  const who = `shot ${input.shot + 1}`;
  // The provider's callback (through the HTTP server) ends a poll early; the polls alone still decide without it.
  const hints = listenForSettledGenerations();
  const slots = createSlotKeeper({
    gate: input.gate,
    queues: input.queues,
    recheckMs: input.gateRecheckMs,
    label: who,
  });
  const submitter = proxyActivities<IoActivities>(submitOptions(input.queues, input.submitGiveUpMs));
  const io = proxyActivities<IoActivities>(ioOptions(input.queues));
  const sweeper = proxyActivities<IoActivities>(sweepOptions(input.queues));
  const media = proxyActivities<MediaActivities>(mediaOptions(input.queues));
  const what = `shot ${input.shot + 1} attempt ${input.attempt}`;
  const provider = providerOf(input.model);
  const ref = (generationId: string) => ({ generationId, model: input.model });
  const ledger = openLedger({
    attempt: input.attempt,
    fallback: input.fallback,
    provider,
    model: input.model,
    what,
    creditsPerAttempt: input.creditsPerAttempt,
  });
  const { attempt, paid } = ledger;
  let submitting = false;
  let landed = false;
  const report = () => tellParent(attemptUpdated, { shot: input.shot, attempt: { ...attempt }, paid });
  const spec = `${input.model} ${input.durationSeconds} s`;
  const show = (doing: string) =>
    setCurrentDetails(`**${who} · attempt ${input.attempt}:** ${doing}\n**Key:** ${input.key}`);
  show(`waiting for a video slot at the provider gate (${input.gate.workflowId})`);

  try {
    let outcome: GenerationOutcome | undefined;
    await slots.withSlots('video', 1, `attempt-${input.attempt}`, async () => {
      submitting = true;
      show(`submitting the clip (${spec} ${input.resolution})`);
      const submitted = await submitter.submitVideoGeneration.executeWithOptions(
        { summary: line(who, 'submit clip', spec) },
        [
          {
            key: input.key,
            sinceMs: input.sinceMs,
            // A reset or restarted run may find the create of the run before it.
            reconcile: info.runId !== info.firstExecutionRunId,
            prompt: input.prompt,
            model: input.model,
            aspectRatio: input.aspectRatio,
            resolution: input.resolution,
            durationSeconds: input.durationSeconds,
            frame0Url: input.frame0.url,
            frame1Url: input.frame1?.url,
          },
        ]
      );
      submitting = false;
      show(`${providerName(provider)} generation ${submitted.generationId} is dreaming (${spec})`);
      recordSubmitted(ledger, submitted);
      await report();
      outcome = await awaitGenerationOrTimeOut({
        queues: input.queues,
        generationId: submitted.generationId,
        model: input.model,
        deadlineMs: Date.now() + input.generationTimeoutMs,
        windowMs: input.pollWindowMs,
        label: who,
        hints,
      });
      if (outcome.state === 'timed-out') {
        // Nobody will collect it: stop it at the provider (paid for all the same at Luma) before the slot goes back.
        await io.deleteGeneration.executeWithOptions(
          { summary: line(who, `stop generation ${submitted.generationId.slice(0, 8)}`, 'timed out') },
          [ref(submitted.generationId)]
        );
        recordStopped(ledger, submitted.generationId);
      }
      landed = true;
    });
    return await finish(outcome!);
  } catch (err) {
    if (cancelledWorkflow(err)) {
      await CancellationScope.nonCancellable(async () => {
        show('cancelled: stopping what it started');
        if (attempt.generationId && !landed) {
          await io.deleteGeneration.executeWithOptions(
            { summary: line(who, `stop generation ${attempt.generationId.slice(0, 8)}`, 'cancelled') },
            [ref(attempt.generationId)]
          );
          recordStopped(ledger, attempt.generationId);
        }
        if (!attempt.generationId && submitting) {
          const found = await sweeper.sweepGenerations.executeWithOptions(
            { summary: line(who, "find the cancelled create's generation") },
            [
              {
                keyPrefix: input.key,
                sinceMs: input.sinceMs,
                ...(provider !== 'luma' && { targets: [{ provider, models: [input.model] }] }),
              },
            ]
          );
          recordSwept(ledger, found);
        }
        attempt.state = 'cancelled';
        await report();
      });
      throw asCancellation(err);
    }
    attempt.state = 'failed';
    attempt.failureReason ??= innermostMessage(err);
    show(`failed: ${attempt.failureReason}`);
    await report();
    throw err;
  }

  async function finish(outcome: GenerationOutcome): Promise<ClipWorkflowResult> {
    let refused = false;
    if (outcome.state === 'completed') {
      try {
        show(`downloading and checking the clip of generation ${outcome.generationId}`);
        attempt.clip = await media.ingestClip.executeWithOptions(
          {
            summary: line(who, 'download and check clip', `${input.width}×${input.height} ${input.durationSeconds} s`),
          },
          [
            {
              storyId: input.storyId,
              name: input.assetName,
              url: outcome.assetUrl!,
              expected: { durationSeconds: input.durationSeconds, width: input.width, height: input.height },
            },
          ]
        );
        attempt.state = 'completed';
      } catch (err) {
        // A clip that is not what was asked is a failed (paid) attempt; any other trouble must not buy another one.
        const mismatch =
          err instanceof ActivityFailure &&
          err.cause instanceof ApplicationFailure &&
          err.cause.type === FailureType.MediaCheckFailed;
        if (!mismatch) throw err;
        Object.assign(attempt, { state: 'failed', failureReason: `clip check failed: ${innermostMessage(err)}` });
      }
    } else {
      refused = recordNoClip(ledger, outcome);
    }
    show(`ended: ${attempt.state}${attempt.failureReason ? ` (${attempt.failureReason})` : ''}`);
    await report();
    log.info('clip attempt ended', { shot: input.shot, attempt: input.attempt, state: attempt.state });
    return { attempt, paid, refused };
  }
}
