import {
  ActivityCancellationType,
  ActivityFailure,
  type ActivityInterfaceFor,
  CancellationScope,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { PollActivities } from '../activities';
import type { PollInput, PollResult } from '../common/generations';
import type { TaskQueues } from '../common/task-queues';
import { humanMs, line } from '../common/summaries';
import { pollOptions } from './activity-options';
import { generationSettled } from './messages';
import { innermostMessage } from './parent';

/** Default longest single polling activity; the wait as a whole is bounded by the story's generation timeout. */
export const DEFAULT_POLL_WINDOW_MS = 10 * 60_000;

/** Marks runs whose waits act on the provider's callbacks (a read as soon as one says the generation settled). */
export const CALLBACK_HINT_PATCH = 'reelflow-callback-hint';
/** Hints a wait acts on per generation: each costs a read, and callbacks are unsigned, so a flood buys nothing. */
const HINTS_PER_GENERATION = 3;
/** Generations with a hint not acted on yet, at most: hints for ids nobody waits for must not pile up. */
const MAX_PENDING_HINTS = 16;

/** What a wait is told by the provider's callbacks (through `generationSettled` signals). */
export interface SettledHints {
  /** A hint for `generationId` has arrived and not been acted on. */
  has(generationId: string): boolean;
  /** Acts on the hint for `generationId`: true if there was one. */
  take(generationId: string): boolean;
}

/** Listens for `generationSettled` on this workflow; the waits of this workflow act on what it hears. */
export function listenForSettledGenerations(): SettledHints {
  const pending = new Set<string>();
  const acted = new Map<string, number>();
  setHandler(generationSettled, (hint) => {
    const id = typeof hint?.generationId === 'string' ? hint.generationId : undefined;
    if (!id || pending.size >= MAX_PENDING_HINTS || (acted.get(id) ?? 0) >= HINTS_PER_GENERATION) return;
    pending.add(id);
  });
  return {
    has: (id) => pending.has(id),
    take(id) {
      if (!pending.delete(id)) return false;
      acted.set(id, (acted.get(id) ?? 0) + 1);
      return true;
    },
  };
}

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
  /** The provider's callbacks for this workflow; unset: polling alone. */
  hints?: SettledHints;
}): Promise<GenerationOutcome> {
  const window = options.windowMs ?? DEFAULT_POLL_WINDOW_MS;
  for (;;) {
    const remaining = options.deadlineMs - Date.now();
    if (remaining <= 0) return { generationId: options.generationId, state: 'timed-out' };
    const windowMs = Math.max(1000, Math.min(window, remaining));
    // Per call, so the activity's own schedule-to-close follows the time left.
    const poll = proxyActivities<PollActivities>(pollOptions(options.queues, windowMs, remaining));
    const summary = line(
      options.label,
      `poll generation ${options.generationId.slice(0, 8)}`,
      `up to ${humanMs(windowMs)}`
    );
    const args: PollInput = {
      generationId: options.generationId,
      windowMs,
      ...(options.model && { model: options.model }),
    };
    const result =
      options.hints && patched(CALLBACK_HINT_PATCH)
        ? await pollUnlessHinted(
            // Abandoned, not cancelled, once a read has settled the generation: the window sees the same at its next
            // read and ends by itself, and no cancel request races its completion (a workflow task handed back
            // inline after such a race lost its pinned version: test/integration/deployments.test.ts).
            proxyActivities<PollActivities>({
              ...pollOptions(options.queues, windowMs, remaining),
              cancellationType: ActivityCancellationType.ABANDON,
            }),
            options.queues,
            options.hints,
            summary,
            args,
            options.label
          )
        : await poll.pollGeneration.executeWithOptions({ summary }, [args]);
    if (result.state === 'completed' || result.state === 'failed' || result.state === 'missing') return result;
  }
}

function settled(result: PollResult): boolean {
  return result.state === 'completed' || result.state === 'failed' || result.state === 'missing';
}

/**
 * One polling window, cut short by a callback: when a hint for the generation arrives, one read at once; if it
 * shows the generation settled, the window is abandoned (it ends at its own next read) and the read answers.
 * Otherwise the window decides.
 */
async function pollUnlessHinted(
  poll: ActivityInterfaceFor<PollActivities>,
  queues: TaskQueues,
  hints: SettledHints,
  summary: string,
  args: PollInput,
  label: string | undefined
): Promise<PollResult> {
  const id = args.generationId;
  const readNow = async () => {
    hints.take(id);
    const read = await readOnce(queues, id, args.model, label);
    return read && settled(read) ? read : undefined;
  };
  // A callback that came while the create was still answering.
  const early = hints.has(id) ? await readNow() : undefined;
  if (early) return early;
  const scope = new CancellationScope();
  const window = scope.run(() => poll.pollGeneration.executeWithOptions({ summary }, [args]));
  // Either awaited below or no longer wanted (cancelled once a read settled it).
  window.catch(() => undefined);
  try {
    // At most HINTS_PER_GENERATION rounds: past them no hint is taken, and the window alone decides.
    for (;;) {
      const hinted = scope
        .run(() => condition(() => hints.has(id)))
        .then(
          () => true,
          () => false
        );
      const first = await Promise.race([window, hinted]);
      if (first !== true) return first as PollResult;
      // The callback may run ahead of what the provider answers (or the read may fail): then wait on.
      const read = await readNow();
      if (read) return read;
    }
  } finally {
    scope.cancel();
  }
}

/** One read of a generation, for a callback; its failure leaves the wait to the polling window. */
async function readOnce(
  queues: TaskQueues,
  generationId: string,
  model: string | undefined,
  label: string | undefined
): Promise<PollResult | undefined> {
  const read = proxyActivities<PollActivities>(pollOptions(queues, 1000, 0));
  try {
    return await read.pollGeneration.executeWithOptions(
      { summary: line(label, `read generation ${generationId.slice(0, 8)}`, 'its provider called back') },
      [{ generationId, windowMs: 1, ...(model && { model }) }]
    );
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    log.warn('reading a generation after its callback failed; polling goes on', {
      generationId,
      error: innermostMessage(err),
    });
    return undefined;
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
