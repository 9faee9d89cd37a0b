import { workflowInfo, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { IoActivities } from '../activities';
import type { KeyframeVariation, PaidGeneration } from '../common/progress';
import type { AspectRatio, ImageModel } from '../common/story';
import { line } from '../common/summaries';
import type { TaskQueues } from '../common/task-queues';
import { awaitGeneration, type GenerationOutcome } from './generation';
import { paidForCreate } from './paid';

/** One keyframe variation to make: generated from `prompt`, or imported from `supplied` (a path or URL). */
export interface KeyframeJob {
  boundary: number;
  variation: number;
  prompt: string;
  supplied?: string;
}

/** A variation's state in its round. */
export type Variation = KeyframeVariation & { boundary: number };

/** What one generated image needs of its round: its settings, the variations' state, what is in flight. */
export interface ImageRound {
  input: {
    keyPrefix: string;
    sinceMs: number;
    imageModel: ImageModel;
    aspectRatio: AspectRatio;
    creditsPerImage: number;
    generationTimeoutMs: number;
    queues: TaskQueues;
    pollWindowMs?: number;
  };
  variations: Map<KeyframeJob, Variation>;
  /** Generations created and not yet over, stopped if the round is cancelled. */
  inFlight: Set<string>;
  submitter: ActivityInterfaceFor<IoActivities>;
  io: ActivityInterfaceFor<IoActivities>;
}

/** The name of a variation in summaries. */
export const variationName = (job: KeyframeJob) => `keyframe ${job.boundary} v${job.variation}`;

/**
 * One paid try at one variation's image: the create for its key, a wait bounded by the generation timeout (a
 * generation past it is stopped), and what it paid (nothing for a failed one: refunded).
 */
export async function generateImage(
  round: ImageRound,
  job: KeyframeJob,
  attempt: number
): Promise<GenerationOutcome & { paid: PaidGeneration[] }> {
  const { input, inFlight } = round;
  const name = variationName(job);
  const v = round.variations.get(job)!;
  v.state = 'generating';
  const submitted = await round.submitter.submitImageGeneration.executeWithOptions(
    {
      summary: line(name, 'submit image', `${input.imageModel} ${input.aspectRatio}`, attempt > 1 && `try ${attempt}`),
    },
    [
      {
        key: `${input.keyPrefix}/b${job.boundary}/v${job.variation}/a${attempt}`,
        sinceMs: input.sinceMs,
        reconcile: workflowInfo().runId !== workflowInfo().firstExecutionRunId,
        prompt: job.prompt,
        model: input.imageModel,
        aspectRatio: input.aspectRatio,
      },
    ]
  );
  v.generationId = submitted.generationId;
  const paid = paidForCreate(submitted, `keyframe ${job.boundary} variation ${job.variation}`, input.creditsPerImage);
  inFlight.add(submitted.generationId);
  const outcome = await awaitGeneration({
    queues: input.queues,
    generationId: submitted.generationId,
    deadlineMs: Date.now() + input.generationTimeoutMs,
    windowMs: input.pollWindowMs,
    label: name,
  });
  if (outcome.state === 'timed-out') {
    await round.io.deleteGeneration.executeWithOptions(
      { summary: line(name, `stop generation ${submitted.generationId.slice(0, 8)}`, 'timed out') },
      [{ generationId: submitted.generationId }]
    );
  }
  inFlight.delete(submitted.generationId);
  if (outcome.state === 'failed') Object.assign(paid[0], { credits: 0, refunded: true });
  return { ...outcome, paid };
}
