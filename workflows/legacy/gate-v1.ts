import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { acquireSlot, gateState, releaseSlot, slotGranted, type GateHolder, type SlotRequest } from './messages-v1';

/** Input (and continue-as-new state) of the gate. */
export interface LumaGateInput {
  capacity: number;
  /** A permit not released after this long is taken back, so a terminated holder cannot shrink the gate for ever. */
  leaseMs?: number;
  holders?: GateHolder[];
  waiting?: SlotRequest[];
}

// Date.now() here is the sandbox's deterministic clock (the workflow task's time), safe on replay.
const DEFAULT_LEASE_MS = 2 * 60 * 60 * 1000;
const MAX_HISTORY_EVENTS = 2000;

/**
 * Account-wide semaphore for Luma video generations: at most `capacity` permits out at once across every story and
 * worker. Long-lived, so it continues as new before its history grows large.
 */
export async function lumaGateWorkflow(input: LumaGateInput): Promise<void> {
  let capacity = input.capacity;
  const leaseMs = input.leaseMs ?? DEFAULT_LEASE_MS;
  const holders = new Map((input.holders ?? []).map((h) => [h.permitId, h]));
  const waiting: SlotRequest[] = [...(input.waiting ?? [])];
  let granting = false;

  setHandler(acquireSlot, (request) => {
    capacity = request.capacity;
    if (holders.has(request.permitId) || waiting.some((w) => w.permitId === request.permitId)) return;
    waiting.push(request);
  });
  setHandler(releaseSlot, ({ permitId }) => {
    holders.delete(permitId);
    const queued = waiting.findIndex((w) => w.permitId === permitId);
    if (queued >= 0) waiting.splice(queued, 1);
  });
  setHandler(gateState, () => ({ capacity, holders: [...holders.values()], waiting: [...waiting] }));

  const shouldContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;

  for (;;) {
    const oldest = Math.min(...[...holders.values()].map((h) => h.grantedAt));
    const untilExpiry = Number.isFinite(oldest) ? Math.max(1, oldest + leaseMs - Date.now()) : undefined;
    const ready = () => (waiting.length > 0 && holders.size < capacity) || shouldContinueAsNew();
    if (untilExpiry === undefined) await condition(ready);
    else await condition(ready, untilExpiry);
    for (const holder of holders.values()) {
      if (Date.now() - holder.grantedAt >= leaseMs) {
        holders.delete(holder.permitId);
        log.warn('gate permit lease expired; taken back', { permitId: holder.permitId });
      }
    }
    while (waiting.length > 0 && holders.size < capacity) {
      const next = waiting.shift()!;
      holders.set(next.permitId, { ...next, grantedAt: Date.now() });
      granting = true;
      try {
        await getExternalWorkflowHandle(next.requesterWorkflowId).signal(slotGranted, { permitId: next.permitId });
      } catch (err) {
        // The requester is gone (finished or terminated): its permit would otherwise leak.
        holders.delete(next.permitId);
        log.warn('gate requester unreachable; permit dropped', { permitId: next.permitId, error: String(err) });
      } finally {
        granting = false;
      }
    }
    if (shouldContinueAsNew()) {
      await condition(() => allHandlersFinished() && !granting);
      await continueAsNew<typeof lumaGateWorkflow>({ capacity, leaseMs, holders: [...holders.values()], waiting });
    }
  }
}
