import type { ActivityOptions } from '@temporalio/workflow';
import type { TaskQueuesV1 as TaskQueues } from './types-v1';

/** Quick Luma calls (create, delete, gate): a 429 waits for the delay the activity asks for, others back off. */
export function lumaActivityOptions(queues: TaskQueues): ActivityOptions {
  return {
    taskQueue: queues.luma,
    // Longer than the create request's own time limit, so an attempt never outlives its twin's create.
    startToCloseTimeout: '90s',
    scheduleToCloseTimeout: '30m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  };
}

/** Waiting on a generation: long, heartbeating on every poll, so a crashed worker's poll moves elsewhere soon. */
export function lumaPollOptions(queues: TaskQueues): ActivityOptions {
  return { ...lumaActivityOptions(queues), startToCloseTimeout: '2h', heartbeatTimeout: '20s' };
}

/** ffmpeg and sharp work: CPU bound, heartbeats while stitching. */
export function mediaActivityOptions(queues: TaskQueues): ActivityOptions {
  return {
    taskQueue: queues.media,
    startToCloseTimeout: '30m',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
  };
}

/** Webhook deliveries: retried for a day, since a receiver may be down for a while. */
export function webhookActivityOptions(queues: TaskQueues): ActivityOptions {
  return {
    taskQueue: queues.luma,
    startToCloseTimeout: '1m',
    scheduleToCloseTimeout: '24h',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '10m' },
  };
}
