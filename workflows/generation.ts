import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import type { PollActivities } from '../activities';
import type { PollResult } from '../common/generations';
import type { TaskQueues } from '../common/task-queues';
import { humanMs, line } from '../common/summaries';
import { pollOptions } from './activity-options';
import { innermostMessage } from './parent';

/** Default longest single polling activity; the wait as a whole is bounded by the story's generation timeout. */
export const DEFAULT_POLL_WINDOW_MS = 10 * 60_000;

/** How a wait for a generation ended: its final state, or the story's generation timeout. */
export type GenerationOutcome = PollResult | { generationId: string; state: 'timed-out' };

/**
 * Waits for a generation to complete or fail, one bounded polling activity after another, until `deadlineMs`
 * (workflow clock). An hour in Luma's queue is a few windows, never a timed-out activity with the clip paid for.
 */
export async function awaitGeneration(options: {
  queues: TaskQueues;
  generationId: string;
  /** The model that makes it (its provider follows); unset: Luma. */
  model?: string;
  deadlineMs: number;
  windowMs?: number;
  /** Who waits, for the polls' summaries in the Web UI (e.g. `shot 3`). */
  label?: string;
}): Promise<GenerationOutcome> {
  const window = options.windowMs ?? DEFAULT_POLL_WINDOW_MS;
  for (;;) {
    const remaining = options.deadlineMs - Date.now();
    if (remaining <= 0) return { generationId: options.generationId, state: 'timed-out' };
    const windowMs = Math.max(1000, Math.min(window, remaining));
    // Per call, so the activity's own schedule-to-close follows the time left.
    const poll = proxyActivities<PollActivities>(pollOptions(options.queues, windowMs, remaining));
    const result = await poll.pollGeneration.executeWithOptions(
      {
        summary: line(
          options.label,
          `poll generation ${options.generationId.slice(0, 8)}`,
          `up to ${humanMs(windowMs)}`
        ),
      },
      [{ generationId: options.generationId, windowMs, ...(options.model && { model: options.model }) }]
    );
    if (result.state === 'completed' || result.state === 'failed' || result.state === 'missing') return result;
  }
}

/** Waits as `awaitGeneration` does; polling that keeps failing past the time left counts as the timeout. */
export async function awaitGenerationOrTimeOut(
  options: Parameters<typeof awaitGeneration>[0]
): Promise<GenerationOutcome> {
  try {
    return await awaitGeneration(options);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const { generationId } = options;
    log.warn('could not read the generation until the timeout', { generationId, error: innermostMessage(err) });
    return { generationId, state: 'timed-out' };
  }
}
