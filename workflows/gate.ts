import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { IoActivities } from '../activities';
import {
  acquirePermit,
  gateState,
  GENERATION_FAMILIES,
  permitGranted,
  releasePermit,
  type GateInput,
  type GenerationFamily,
  type PermitHolder,
  type RecentGrant,
  type SlotRequest,
} from '../common/gate';
import { failure, FailureType } from '../common/failures';
import { ioOptions } from './activity-options';
import { taskQueues } from '../common/task-queues';
import { humanMs, line } from '../common/summaries';

/** Window of the creates-per-minute count, a little over a minute: creates reach the provider a moment after grants. */
const RATE_WINDOW_MS = 66_000;
const MAX_HISTORY_EVENTS = 2000;

/**
 * The provider account's gate: at most `maxInFlight` generations in flight and `createsPerMinute` grants a minute per
 * model family, across every story and worker. Permits belong to workflow runs; a run that ends (completed,
 * terminated, reset, timed out) loses its permits at the next liveness check. Long-lived: continues as new.
 */
export async function generationGateWorkflow(input: GateInput): Promise<void> {
  let limits = input.limits;
  let livenessCheckMs = input.livenessCheckMs;
  const holders = new Map((input.holders ?? []).map((h) => [h.permitId, h]));
  const waiting: SlotRequest[] = [...(input.waiting ?? [])];
  let grants: RecentGrant[] = [...(input.grants ?? [])];
  const io = proxyActivities<IoActivities>(ioOptions({ ...taskQueues(), io: input.ioQueue }));
  let lastCheck = Date.now();
  let checking = false;
  let checked = false;
  let signalling = 0;

  const held = (family: GenerationFamily) =>
    [...holders.values()].filter((h) => h.family === family).reduce((n, h) => n + h.slots, 0);
  const recent = (family: GenerationFamily) =>
    grants.filter((g) => g.family === family && g.at > Date.now() - RATE_WINDOW_MS).reduce((n, g) => n + g.slots, 0);
  // A family the account does not make has no limits and gets no permits (the validator refuses its requests).
  const fits = (r: SlotRequest) => {
    const family = limits[r.family];
    return (
      !!family &&
      held(r.family) + r.slots <= family.maxInFlight &&
      recent(r.family) + r.slots <= family.createsPerMinute
    );
  };
  const hold = (r: SlotRequest, counted: boolean) => {
    holders.set(r.permitId, { ...r, grantedAt: Date.now() });
    if (counted) grants.push({ family: r.family, slots: r.slots, at: Date.now() });
  };
  const headOf = (family: GenerationFamily) => waiting.find((w) => w.family === family);
  const grantable = () =>
    GENERATION_FAMILIES.some((f) => {
      const head = headOf(f);
      return head !== undefined && fits(head);
    });
  const shouldContinue = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
  /** The gate's counts as the Web UI's current details: in flight, created in the window, queued, per family. */
  const show = () =>
    setCurrentDetails(
      GENERATION_FAMILIES.flatMap((f) => {
        const family = limits[f];
        // A family this account does not make (fal's images) has no line.
        if (!family) return [];
        return [
          `**${f}:** ${held(f)}/${family.maxInFlight} in flight · ` +
            `${recent(f)}/${family.createsPerMinute} created in the last ${RATE_WINDOW_MS / 1000} s · ` +
            `${waiting.filter((w) => w.family === f).length} queued`,
        ];
      }).join('\n') + `\n**Holders:** ${holders.size} permits`
    );

  setHandler(
    acquirePermit,
    (request) => {
      limits = request.limits;
      livenessCheckMs = request.livenessCheckMs;
      const { limits: _l, livenessCheckMs: _c, ...r } = request;
      const known = holders.get(r.permitId);
      if (known) return { state: 'granted', slots: known.slots };
      const queue = waiting.filter((w) => w.family === r.family);
      const queued = queue.findIndex((w) => w.permitId === r.permitId);
      if (queued >= 0) return { state: 'queued', slots: queue[queued].slots, position: queued };
      if (r.adopt) {
        hold(r, false);
        return { state: 'granted', slots: r.slots };
      }
      if (queue.length === 0 && fits(r)) {
        hold(r, true);
        show();
        return { state: 'granted', slots: r.slots };
      }
      waiting.push(r);
      show();
      return { state: 'queued', slots: r.slots, position: queue.length };
    },
    {
      validator: (request) => {
        const cap = request.limits?.[request.family]?.maxInFlight;
        if (!Number.isInteger(request.slots) || request.slots < 1 || cap === undefined || request.slots > cap) {
          throw failure(
            FailureType.InvalidPermitRequest,
            `slots: ${request.slots} ${request.family} slots can never be granted (cap ${cap})`
          );
        }
      },
    }
  );
  setHandler(releasePermit, ({ permitId }) => {
    const wasHeld = holders.delete(permitId);
    const queued = waiting.findIndex((w) => w.permitId === permitId);
    if (queued >= 0) waiting.splice(queued, 1);
    show();
    return { released: wasHeld || queued >= 0 };
  });
  setHandler(gateState, () => ({
    provider: input.provider,
    limits,
    holders: [...holders.values()],
    waiting: [...waiting],
    inFlight: Object.fromEntries(GENERATION_FAMILIES.map((f) => [f, held(f)])) as Record<GenerationFamily, number>,
    recentCreates: Object.fromEntries(GENERATION_FAMILIES.map((f) => [f, recent(f)])) as Record<
      GenerationFamily,
      number
    >,
  }));

  /** Takes back the permits and requests of runs that have ended; runs beside the loop so grants never wait on it. */
  const checkLiveness = async () => {
    checking = true;
    try {
      const runs = uniqueRuns([...holders.values(), ...waiting].map((r) => r.holder));
      const closed = await io.findClosedRuns.executeWithOptions(
        { summary: line('liveness check', `${runs.length} holder run${runs.length === 1 ? '' : 's'}`) },
        [{ runs }]
      );
      const gone = new Set(closed.map(runKey));
      for (const [id, h] of holders) {
        if (gone.has(runKey(h.holder))) {
          holders.delete(id);
          log.warn('permit of an ended run taken back', { permitId: id });
        }
      }
      for (let i = waiting.length - 1; i >= 0; i--) if (gone.has(runKey(waiting[i].holder))) waiting.splice(i, 1);
    } catch (err) {
      log.warn('liveness check failed; trying again later', { error: String(err) });
    } finally {
      lastCheck = Date.now();
      checking = false;
      // The next check must be scheduled even if nothing else wakes the loop.
      checked = true;
    }
  };

  for (;;) {
    const now = Date.now();
    const wakeAt = [
      holders.size + waiting.length > 0 && !checking ? lastCheck + livenessCheckMs : Infinity,
      ...grants.map((g) => g.at + RATE_WINDOW_MS),
    ];
    const sleepMs = Math.max(1, Math.min(...wakeAt) - now);
    checked = false;
    show();
    const wake = () => grantable() || shouldContinue() || checked;
    if (Number.isFinite(sleepMs)) {
      await condition(wake, sleepMs, { summary: line('next liveness check or rate window', humanMs(sleepMs)) });
    } else await condition(wake);
    grants = grants.filter((g) => g.at > Date.now() - RATE_WINDOW_MS);
    if (!checking && holders.size + waiting.length > 0 && Date.now() >= lastCheck + livenessCheckMs) {
      void checkLiveness();
    }
    for (const family of GENERATION_FAMILIES) {
      for (let head = headOf(family); head && fits(head); head = headOf(family)) {
        waiting.splice(waiting.indexOf(head), 1);
        hold(head, true);
        signalling++;
        try {
          await getExternalWorkflowHandle(head.holder.workflowId, head.holder.runId).signal(permitGranted, {
            permitId: head.permitId,
          });
        } catch (err) {
          // The requester's run is gone: its permit would otherwise leak.
          holders.delete(head.permitId);
          log.warn('permit holder unreachable; permit dropped', { permitId: head.permitId, error: String(err) });
        } finally {
          signalling--;
        }
      }
    }
    if (shouldContinue()) {
      await condition(() => allHandlersFinished() && !checking && signalling === 0);
      await continueAsNew<typeof generationGateWorkflow>({
        provider: input.provider,
        ioQueue: input.ioQueue,
        limits,
        livenessCheckMs,
        holders: [...holders.values()],
        waiting,
        grants,
      });
    }
  }
}

function runKey(run: PermitHolder): string {
  return `${run.workflowId}\u0000${run.runId}`;
}

function uniqueRuns(runs: PermitHolder[]): PermitHolder[] {
  return [...new Map(runs.map((r) => [runKey(r), r])).values()];
}
