import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  acquirePermit,
  releasePermit,
  type AcquireResult,
  type GateInput,
  type GateLimits,
  type PermitHolder,
  type SlotRequest,
} from '../common/gate';
import type { ProviderId } from '../common/models';
import { nonRetryable, FailureType } from '../common/failures';
import type { TaskQueues } from '../common/task-queues';

/** What the gate activities need. */
export interface GateDeps {
  temporal: Client;
  /** Task queues of the deployment: the gate runs on `workflows` (started on first use), its check on `io`. */
  queues: TaskQueues;
  /** Each provider account's limits per family, from this process's settings (newest wins at its gate). */
  limits: Record<ProviderId, GateLimits>;
  /** How often the gate checks that its holders still run: the bound on how long a dead holder keeps a slot. */
  livenessCheckMs: number;
}

/** Builds the activities through which workflows reach the provider gate. */
export function createGateActivities(deps: GateDeps) {
  return {
    /**
     * Asks the gate for a permit, starting the gate if it is not running. Idempotent per permitId: a re-sent request
     * gets the same answer. A queued request is granted later by the `permitGranted` signal to the holder.
     */
    async acquireGenerationSlot(input: {
      gateWorkflowId: string;
      provider: string;
      request: SlotRequest;
    }): Promise<AcquireResult> {
      // Each provider account has its own gate and limits; recorded histories name only Luma's.
      const limits = deps.limits[input.provider as ProviderId];
      const family = limits?.[input.request.family];
      if (!limits || !family) {
        throw nonRetryable(
          FailureType.InvalidPermitRequest,
          `provider ${input.provider} has no ${input.request.family} limits: it makes no ${input.request.family} generations`
        );
      }
      // A request can never be granted more than the family's cap: ask for at most that.
      const slots = Math.max(1, Math.min(input.request.slots, family.maxInFlight));
      const gateInput: GateInput = {
        provider: input.provider,
        ioQueue: deps.queues.io,
        limits,
        livenessCheckMs: deps.livenessCheckMs,
      };
      return deps.temporal.workflow.executeUpdateWithStart(acquirePermit, {
        args: [{ ...input.request, slots, limits, livenessCheckMs: deps.livenessCheckMs }],
        startWorkflowOperation: new WithStartWorkflowOperation('generationGateWorkflow', {
          workflowId: input.gateWorkflowId,
          taskQueue: deps.queues.workflows,
          args: [gateInput],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    },

    /** Gives a permit back and waits for the gate to confirm; a gate that is gone holds nothing to give back. */
    async releaseGenerationSlot(input: { gateWorkflowId: string; permitId: string }): Promise<{ released: boolean }> {
      try {
        return await deps.temporal.workflow
          .getHandle(input.gateWorkflowId)
          .executeUpdate(releasePermit, { args: [{ permitId: input.permitId }] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { released: false };
        throw err;
      }
    },

    /** Which of these workflow runs have ended (or are unknown): their permits can be taken back. */
    async findClosedRuns(input: { runs: PermitHolder[] }): Promise<PermitHolder[]> {
      const ctx = Context.current();
      const closed: PermitHolder[] = [];
      for (const run of input.runs) {
        ctx.heartbeat();
        try {
          const { status } = await deps.temporal.workflow.getHandle(run.workflowId, run.runId).describe();
          if (status.name !== 'RUNNING') closed.push(run);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) closed.push(run);
          else throw err;
        }
      }
      return closed;
    },
  };
}
