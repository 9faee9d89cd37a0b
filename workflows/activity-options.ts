import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import type { TaskQueues } from '../common/task-queues';

// Each timeout profile is written out in full: spreading one into another would carry its scheduleToCloseTimeout
// along and silently cap the other (pitfalls.md).

/** Short provider and Temporal calls (gate requests, deletes): retried until they go through. */
export function ioOptions(queues: TaskQueues): ActivityOptions {
  return {
    taskQueue: queues.io,
    startToCloseTimeout: '1m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  };
}

/**
 * A paid create. Heartbeats so a crashed worker's attempt is retried within seconds and a cancellation reaches its
 * HTTP calls; an attempt only creates when its create fits in what is left of its 3 minutes, so it is over before
 * its successor starts looking. `giveUpMs` (an hour by default) of provider trouble fails the attempt (and lets the
 * shot decide: try again, fall back to another provider, or fail).
 */
export function submitOptions(queues: TaskQueues, giveUpMs: number = 3_600_000): ActivityOptions {
  return {
    taskQueue: queues.io,
    startToCloseTimeout: '3m',
    // Short, because a cancellation only reaches the activity with a heartbeat's answer (sent every 0.8 × this).
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: giveUpMs,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
    // A cancelled create must have stopped before the workflow looks for what it may have left behind.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
}

/**
 * Asking a provider that just failed a shot what its attempt left behind, before the shot falls back: bounded
 * tighter than a sweep, because the provider may be down; what it cannot settle is swept again at the end.
 */
export function settleOptions(queues: TaskQueues): ActivityOptions {
  return {
    taskQueue: queues.io,
    startToCloseTimeout: '2m',
    heartbeatTimeout: '30s',
    scheduleToCloseTimeout: '5m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s' },
  };
}

/** Finding and stopping a story's generations after a cancel or a broken child: bounded, heartbeating. */
export function sweepOptions(queues: TaskQueues): ActivityOptions {
  return {
    taskQueue: queues.io,
    startToCloseTimeout: '10m',
    heartbeatTimeout: '30s',
    scheduleToCloseTimeout: '30m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m' },
  };
}

/**
 * One polling window of at most `windowMs`; the whole wait is bounded by the story's generation timeout, which the
 * workflow enforces with `remainingMs`. Heartbeats from its first moment, so a dead poller is replaced quickly.
 */
export function pollOptions(queues: TaskQueues, windowMs: number, remainingMs: number): ActivityOptions {
  return {
    taskQueue: queues.poll,
    startToCloseTimeout: windowMs + 60_000,
    heartbeatTimeout: '30s',
    scheduleToCloseTimeout: remainingMs + 5 * 60_000,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m' },
  };
}

/** ffmpeg and sharp work: CPU bound, heartbeating throughout, a few tries. */
export function mediaOptions(queues: TaskQueues): ActivityOptions {
  return {
    taskQueue: queues.media,
    startToCloseTimeout: '30m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
  };
}

/** One webhook delivery: retried for a day, since a receiver may be down for a while. */
export function webhookOptions(queues: TaskQueues): ActivityOptions {
  return {
    taskQueue: queues.io,
    startToCloseTimeout: '1m',
    scheduleToCloseTimeout: '24h',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '10m' },
  };
}
