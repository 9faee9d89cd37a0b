// reelflow's metric names, in one place: emitted by workflow code (workflows/metrics.ts, through the workers'
// Prometheus endpoint) and by the HTTP server's /metrics (server/metrics.ts); the Grafana dashboard
// (deploy/grafana/reelflow.json) and docs/operations.md use the same names.

/** Emitted from workflow code through the SDK's metric meter (counters get Prometheus' `_total`). */
export const WORKFLOW_METRICS = {
  creditsCharged: 'reelflow_credits_charged',
  creditsRefunded: 'reelflow_credits_refunded',
  reviewWait: 'reelflow_review_wait_seconds',
  storiesFinished: 'reelflow_stories_finished',
  storyCredits: 'reelflow_story_credits',
} as const;

/** Read from Temporal at scrape time by the HTTP server's /metrics. */
export const SERVER_METRICS = {
  stories: 'reelflow_stories',
  inFlight: 'reelflow_generations_in_flight',
  inFlightCap: 'reelflow_generations_in_flight_cap',
  recentCreates: 'reelflow_generation_creates_recent',
  createsCap: 'reelflow_generation_creates_per_minute_cap',
  queued: 'reelflow_generation_requests_queued',
} as const;
