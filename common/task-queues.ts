/** The task queues one reelflow deployment uses; a prefix keeps deployments (and test runs) on one cluster apart. */
export interface TaskQueues {
  prefix: string;
  workflows: string;
  luma: string;
  media: string;
}

/** Default prefix of task queue names. */
export const DEFAULT_TASK_QUEUE_PREFIX = 'reelflow';

/** Task queue names for a prefix. */
export function taskQueues(prefix: string = DEFAULT_TASK_QUEUE_PREFIX): TaskQueues {
  return { prefix, workflows: `${prefix}-workflows`, luma: `${prefix}-luma`, media: `${prefix}-media` };
}

/** Workflow id of the account-wide Luma concurrency gate of a deployment. */
export function gateWorkflowId(prefix: string = DEFAULT_TASK_QUEUE_PREFIX): string {
  return `${prefix}-luma-gate`;
}
