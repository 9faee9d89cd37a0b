import type { TelemetryOptions } from '@temporalio/worker';
import type { ReelflowConfig } from '../config';
import { WORKFLOW_METRICS as METRICS } from '../common/metrics';

/** Bucket bounds of reelflow's histograms (the SDK's defaults are milliseconds of task latency). */
const BUCKETS: Record<string, number[]> = {
  // Seconds, from a test's moments to a review left for days.
  [METRICS.reviewWait]: [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600, 7 * 24 * 3600],
  [METRICS.creditsCharged]: [0.2, 0.5, 1, 2, 3, 5, 10],
  [METRICS.creditsRefunded]: [0.2, 0.5, 1, 2, 3, 5, 10],
  [METRICS.storyCredits]: [1, 5, 10, 25, 50, 100, 250, 500],
};

/**
 * The worker runtime's telemetry: with REELFLOW_METRICS_ADDRESS, a Prometheus endpoint (`/metrics`) with the SDK's
 * metrics (`temporal_*`: task latencies, slots, polls, activity failures) and reelflow's workflow metrics; none
 * otherwise.
 */
export function runtimeTelemetry(config: ReelflowConfig): TelemetryOptions | undefined {
  const bindAddress = config.telemetry.metricsAddress;
  if (!bindAddress) return undefined;
  return {
    metrics: {
      prometheus: { bindAddress, countersTotalSuffix: true, histogramBucketOverrides: BUCKETS },
      globalTags: { deployment: config.deployment.name },
    },
  };
}
