/**
 * The task queues of one reelflow deployment; a prefix keeps deployments (and test runs) on one cluster apart.
 * - `workflows`: workflow tasks;
 * - `io`: short provider and Temporal calls (creates, deletes, gate requests, webhooks), which must never wait
 *   behind long work;
 * - `poll`: long waits on generations, many at once and cheap, kept off `io` so they cannot take its slots;
 * - `media`: ffmpeg and sharp, CPU bound.
 */
export interface TaskQueues {
  prefix: string;
  workflows: string;
  io: string;
  poll: string;
  media: string;
}

/** Default prefix of task queue names. */
export const DEFAULT_TASK_QUEUE_PREFIX = 'reelflow';

/** Task queue names for a prefix. */
export function taskQueues(prefix: string = DEFAULT_TASK_QUEUE_PREFIX): TaskQueues {
  return {
    prefix,
    workflows: `${prefix}-workflows`,
    io: `${prefix}-io`,
    poll: `${prefix}-poll`,
    media: `${prefix}-media`,
  };
}
