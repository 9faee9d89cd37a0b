import { CancellationScope, condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { IoActivities } from '../activities';
import { permitGranted, type GenerationFamily, type SlotRequest } from '../common/gate';
import type { TaskQueues } from '../common/task-queues';
import { humanMs, line } from '../common/summaries';
import { ioOptions } from './activity-options';

/** Where a workflow finds its provider's gate. */
export interface GateRef {
  workflowId: string;
  provider: string;
}

/** Default wait for a queued request's grant before asking the gate again (a lost request is queued anew). */
export const DEFAULT_GATE_RECHECK_MS = 5 * 60_000;

/** Holds generation slots of the provider gate for one workflow run. Create it once, at the start of the workflow. */
export interface SlotKeeper {
  /**
   * Runs `work` while holding up to `slots` slots of `family` (never more than the family's cap; `work` is told how
   * many): asks the gate, waits for the grant (asking again every `recheckMs` in case the request was lost), and
   * gives the permit back when `work` ends, however it ends, waiting for the gate to confirm. `name` makes the
   * permit id unique within this run.
   */
  withSlots<T>(family: GenerationFamily, slots: number, name: string, work: (slots: number) => Promise<T>): Promise<T>;
}

/** Creates the slot keeper of this workflow run and registers the gate's grant signal. */
export function createSlotKeeper(options: {
  gate: GateRef;
  queues: TaskQueues;
  recheckMs?: number;
  /** Who holds the slots, for the summaries in the Web UI (e.g. `shot 3`). */
  label?: string;
}): SlotKeeper {
  const granted = new Set<string>();
  const { workflowId, runId } = workflowInfo();
  // A grant is addressed to this run; a permit id names the run, so a reset run never takes an old run's grant.
  setHandler(permitGranted, ({ permitId }) => void granted.add(permitId));
  const io = proxyActivities<IoActivities>(ioOptions(options.queues));
  const recheckMs = options.recheckMs ?? DEFAULT_GATE_RECHECK_MS;

  return {
    async withSlots(family, slots, name, work) {
      const request: SlotRequest = {
        permitId: `${workflowId}/${runId}/${name}`,
        holder: { workflowId, runId },
        family,
        slots,
      };
      const what = `${slots} ${family} slot${slots === 1 ? '' : 's'}`;
      const ask = () =>
        io.acquireGenerationSlot.executeWithOptions(
          { summary: line(options.label, name, `ask the gate for ${what}`) },
          [{ gateWorkflowId: options.gate.workflowId, provider: options.gate.provider, request }]
        );
      try {
        let answer = await ask();
        while (answer.state !== 'granted' && !granted.has(request.permitId)) {
          const summary = line(options.label, name, `queued for ${what}`, `ask again in ${humanMs(recheckMs)}`);
          if (await condition(() => granted.has(request.permitId), recheckMs, { summary })) break;
          answer = await ask();
        }
        return await work(answer.slots);
      } finally {
        // Confirmed by the gate before this run forgets the permit; a cancelled holder withdraws its request too.
        await CancellationScope.nonCancellable(() =>
          io.releaseGenerationSlot.executeWithOptions({ summary: line(options.label, name, `give back ${what}`) }, [
            { gateWorkflowId: options.gate.workflowId, permitId: request.permitId },
          ])
        );
        granted.delete(request.permitId);
      }
    },
  };
}
