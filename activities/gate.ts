import type { Client } from '@temporalio/client';
import type { TaskQueues } from '../common/task-queues';
import { acquireSlot, type SlotRequest } from '../workflows/messages';
import type { lumaGateWorkflow } from '../workflows/gate';

/** What the gate activity needs. */
export interface GateDeps {
  temporal: Client;
  /** Account-wide cap on Luma video generations in flight. */
  maxInFlight: number;
}

/** Builds the activity that asks the account-wide gate for a Luma slot. */
export function createGateActivities(deps: GateDeps) {
  return {
    /** Queues a slot request at the gate, starting the gate if it is not running; the grant comes back as a signal. */
    async requestGateSlot(input: {
      gateWorkflowId: string;
      queues: TaskQueues;
      request: Omit<SlotRequest, 'capacity'>;
    }) {
      await deps.temporal.workflow.signalWithStart<typeof lumaGateWorkflow, [SlotRequest]>('lumaGateWorkflow', {
        workflowId: input.gateWorkflowId,
        taskQueue: input.queues.workflows,
        args: [{ capacity: deps.maxInFlight }],
        signal: acquireSlot,
        signalArgs: [{ ...input.request, capacity: deps.maxInFlight }],
      });
    },
  };
}
