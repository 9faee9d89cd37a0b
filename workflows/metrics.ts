import { metricMeter } from '@temporalio/workflow';
import { WORKFLOW_METRICS } from '../common/metrics';

// reelflow's own metrics from workflow code, through the SDK's metric meter: they reach the worker's Prometheus
// endpoint (REELFLOW_METRICS_ADDRESS) beside the SDK's, tagged with namespace, task queue and workflow type, and
// are never emitted again when a workflow replays. Only events are counted here (a charge, a review answered, a
// story ended); state (stories by stage, generations in flight vs the cap) is read from Temporal at scrape time by
// the HTTP server's /metrics (server/metrics.ts), since a gauge set from a workflow goes stale on the worker that
// last ran it. Names: common/metrics.ts.

const METRICS = WORKFLOW_METRICS;

/**
 * A change in a story's credits (the provider's charge or a refund). Credits are fractional and SDK counters count
 * integers, so each change is one histogram sample: its `_sum` is the credits charged (or refunded).
 */
export function recordCredits(delta: number): void {
  if (delta > 0) {
    metricMeter
      .createHistogram(METRICS.creditsCharged, 'float', 'credits', 'Credits charged by the provider (sum)')
      .record(delta);
  } else if (delta < 0) {
    metricMeter
      .createHistogram(METRICS.creditsRefunded, 'float', 'credits', 'Credits refunded for failed generations (sum)')
      .record(-delta);
  }
}

/** How long a review waited for its answer (workflow clock), and whether a person answered or it timed out. */
export function recordReviewWait(review: 'keyframes' | 'clip', waitedMs: number, answered: boolean): void {
  metricMeter
    .createHistogram(METRICS.reviewWait, 'float', 's', 'Time a story waited for a review')
    .record(Math.max(0, waitedMs) / 1000, { review, outcome: answered ? 'answered' : 'timed-out' });
}

/** A story ended: how, and what it spent. */
export function recordStoryEnd(status: 'completed' | 'failed' | 'cancelled', credits: number): void {
  metricMeter.createCounter(METRICS.storiesFinished, 'stories', 'Stories that ended, by status').add(1, { status });
  metricMeter
    .createHistogram(METRICS.storyCredits, 'float', 'credits', 'Credits one story spent, by how it ended')
    .record(credits, { status });
}
