import { CancellationScope, log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { IoActivities, MediaActivities } from '../activities';
import { asCancellation, cancelledWorkflow } from './cancelled';
import { isRefusal } from '../common/failures';
import type { KeyframeVariation, PaidGeneration } from '../common/progress';
import type { AspectRatio, ImageModel } from '../common/story';
import type { TaskQueues } from '../common/task-queues';
import { ioOptions, mediaOptions, submitOptions } from './activity-options';
import { mapWithLimit } from './concurrency';
import { keyframesUpdated } from './messages';
import { tellParent } from './parent';
import { generateImage, variationName, type ImageRound, type KeyframeJob, type Variation } from './keyframe-image';
import { createSlotKeeper, type GateRef } from './slots';
import { line } from '../common/summaries';

export type { KeyframeJob } from './keyframe-image';

/** Input of one round of keyframe images. */
export interface KeyframesWorkflowInput {
  storyId: string;
  /** Key of every generation of this round starts with it: `<prefix>/b<boundary>/v<variation>/a<attempt>`. */
  keyPrefix: string;
  sinceMs: number;
  jobs: KeyframeJob[];
  imageModel: ImageModel;
  aspectRatio: AspectRatio;
  width: number;
  height: number;
  /** Folder of the keyframes inside the story's asset folder. */
  assetPrefix: string;
  creditsPerImage: number;
  generationTimeoutMs: number;
  /** Images generated at once (one gate permit covers a batch). */
  batchSize: number;
  /** Paid tries per variation when generations fail for reasons a new try can fix. */
  attemptsPerVariation: number;
  queues: TaskQueues;
  gate: GateRef;
  pollWindowMs?: number;
  gateRecheckMs?: number;
}

/** What a round made: every variation's final state and every generation paid for. */
export interface KeyframesWorkflowResult {
  variations: Array<KeyframeVariation & { boundary: number }>;
  paid: PaidGeneration[];
}

/**
 * One round of boundary keyframes: supplied images are imported; generated ones are made in batches, each batch under
 * one permit of the provider gate's image family, so bursts of stories stay inside the account's limits.
 */
export async function keyframesWorkflow(input: KeyframesWorkflowInput): Promise<KeyframesWorkflowResult> {
  const slots = createSlotKeeper({
    gate: input.gate,
    queues: input.queues,
    recheckMs: input.gateRecheckMs,
    label: 'keyframes',
  });
  const submitter = proxyActivities<IoActivities>(submitOptions(input.queues));
  const io = proxyActivities<IoActivities>(ioOptions(input.queues));
  const media = proxyActivities<MediaActivities>(mediaOptions(input.queues));
  const variations = new Map<KeyframeJob, Variation>(
    input.jobs.map((job) => [
      job,
      {
        boundary: job.boundary,
        index: job.variation,
        state: 'pending',
        credits: 0,
        supplied: job.supplied ? true : undefined,
      },
    ])
  );
  const allPaid: PaidGeneration[] = [];
  const inFlight = new Set<string>();
  const report = (changed: Variation[], paid: PaidGeneration[]) =>
    tellParent(keyframesUpdated, { variations: changed, paid });
  const show = (doing: string) => {
    const all = [...variations.values()];
    const ready = all.filter((v) => v.state === 'ready').length;
    const failed = all.filter((v) => v.state === 'failed').length;
    setCurrentDetails(`**Now:** ${doing}\n**Images:** ${ready} ready, ${failed} failed of ${all.length}`);
  };
  const name = variationName;
  const size = `${input.width}×${input.height}`;

  const importSupplied = async (job: KeyframeJob) => {
    const v = variations.get(job)!;
    const ref = await media.ingestKeyframe.executeWithOptions(
      { summary: line(`keyframe ${job.boundary}`, 'import supplied image', size) },
      [
        {
          storyId: input.storyId,
          name: `${input.assetPrefix}/b${job.boundary}-supplied.png`,
          source: { supplied: job.supplied! },
          width: input.width,
          height: input.height,
        },
      ]
    );
    Object.assign(v, ref, { state: 'ready' });
  };

  const round: ImageRound = { input, variations, inFlight, submitter, io };

  try {
    const supplied = input.jobs.filter((j) => j.supplied);
    if (supplied.length) show(`importing ${supplied.length} supplied images`);
    await mapWithLimit(supplied, input.batchSize, importSupplied);
    if (supplied.length)
      await report(
        supplied.map((j) => variations.get(j)!),
        []
      );

    let queue = input.jobs.filter((j) => !j.supplied).map((job) => ({ job, attempt: 1 }));
    for (let batchNo = 1; queue.length > 0; batchNo++) {
      let batch = queue.slice(0, input.batchSize);
      show(`batch ${batchNo}: waiting for ${batch.length} image slots at the provider gate (${input.gate.workflowId})`);
      const outcomes = await slots.withSlots('image', batch.length, `batch-${batchNo}`, (granted) => {
        // The gate may cover fewer images than asked (a small image cap): the rest wait for the next batch.
        batch = batch.slice(0, granted);
        show(`batch ${batchNo}: generating ${batch.length} images with ${input.imageModel}`);
        return Promise.all(batch.map(({ job, attempt }) => generateImage(round, job, attempt)));
      });
      show(`batch ${batchNo}: downloading and fitting the images`);
      queue = queue.slice(batch.length);
      const paid = outcomes.flatMap((o) => o.paid);
      allPaid.push(...paid);
      await Promise.all(
        batch.map(async ({ job, attempt }, i) => {
          const v = variations.get(job)!;
          const outcome = outcomes[i];
          v.credits = outcome.paid[0].credits;
          if (outcome.state === 'completed') {
            const ref = await media.ingestKeyframe.executeWithOptions(
              { summary: line(name(job), 'download and fit image', size) },
              [
                {
                  storyId: input.storyId,
                  name: `${input.assetPrefix}/b${job.boundary}-v${job.variation}.png`,
                  source: { providerUrl: outcome.assetUrl! },
                  width: input.width,
                  height: input.height,
                },
              ]
            );
            Object.assign(v, ref, { state: 'ready', error: undefined });
            return;
          }
          v.error =
            outcome.state === 'timed-out' ? 'no result within the generation timeout' : (outcome.failureReason ?? '');
          const retry = attempt < input.attemptsPerVariation && !(outcome.state === 'failed' && isRefusal(v.error));
          if (retry) queue.push({ job, attempt: attempt + 1 });
          else v.state = 'failed';
        })
      );
      await report(
        batch.map(({ job }) => variations.get(job)!),
        paid
      );
    }
    show('done');
    return { variations: [...variations.values()], paid: allPaid };
  } catch (err) {
    if (cancelledWorkflow(err)) {
      show('cancelled: stopping the images still dreaming');
      // Stop what is still dreaming; the story sweeps its keys afterwards for creates still on the wire.
      await CancellationScope.nonCancellable(async () => {
        await Promise.all(
          [...inFlight].map((generationId) =>
            io.deleteGeneration.executeWithOptions(
              { summary: line('keyframes', `stop generation ${generationId.slice(0, 8)}`, 'cancelled') },
              [{ generationId }]
            )
          )
        );
      });
      throw asCancellation(err);
    }
    log.warn('keyframe round ended early', { storyId: input.storyId, error: String(err) });
    throw err;
  }
}
