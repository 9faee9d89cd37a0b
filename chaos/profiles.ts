/** How big a run is: the full profile (by hand, `npm run chaos`) or the short one inside `npm test`. */
export interface Profile {
  name: 'full' | 'short';
  r1: { stories: number; kills: number; killGapMs: [number, number]; deadlineMs: number };
  r2: { stories: number; restarts: number; downMs: number; deadlineMs: number };
  r3: { stories: number; deadlineMs: number };
  /** Keep every n-th case of the corpus (1 = all), always keeping at least one case of each kind. */
  r4: { every: number; deadlineMs: number };
  /** Every profile runs the whole access matrix: it is cheap. */
  r5: Record<string, never>;
  r6: Record<string, never>;
}

const MINUTE = 60_000;

/** The profiles by name. */
export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    r1: { stories: 20, kills: 12, killGapMs: [6_000, 18_000], deadlineMs: 16 * MINUTE },
    r2: { stories: 6, restarts: 2, downMs: 5_000, deadlineMs: 8 * MINUTE },
    r3: { stories: 10, deadlineMs: 8 * MINUTE },
    r4: { every: 1, deadlineMs: 10 * MINUTE },
    r5: {},
    r6: {},
  },
  short: {
    name: 'short',
    r1: { stories: 4, kills: 2, killGapMs: [5_000, 12_000], deadlineMs: 5 * MINUTE },
    r2: { stories: 2, restarts: 1, downMs: 3_000, deadlineMs: 4 * MINUTE },
    r3: { stories: 3, deadlineMs: 4 * MINUTE },
    r4: { every: 4, deadlineMs: 4 * MINUTE },
    r5: {},
    r6: {},
  },
};

/**
 * The stack's timings: the production defaults scaled down about five times (never the fast path), so a run fits in
 * minutes on two cores while every wait, window and timeout still plays its part.
 */
export const SCALED_ENV: Record<string, string> = {
  // The account's real caps; the per-minute windows are tripled (the emulator's and the gate's alike).
  LUMA_MAX_IN_FLIGHT: '10',
  LUMA_CREATES_PER_MINUTE: '60',
  LUMA_IMAGE_MAX_IN_FLIGHT: '40',
  LUMA_IMAGE_CREATES_PER_MINUTE: '240',
  LUMA_POLL_INTERVAL_MS: '600',
  LUMA_CREATE_TIMEOUT_MS: '6000',
  LUMA_LIST_TIMEOUT_MS: '2000',
  REELFLOW_POLL_WINDOW_MS: '120000',
  REELFLOW_GATE_RECHECK_MS: '60000',
  REELFLOW_GATE_CHECK_MS: '6000',
  REELFLOW_MAX_RETRY_DELAY_MS: '12000',
  REELFLOW_SHUTDOWN_GRACE_MS: '6000',
  REELFLOW_MEDIA_CONCURRENCY: '1',
  REELFLOW_MAX_DOWNLOAD_MB: '100',
  // The production default, spelled out: R4 must meet the SSRF guard as a deployment would.
  REELFLOW_ALLOW_PRIVATE_INPUTS: 'false',
};

/** The emulator's latencies, scaled like the stack's timings (ray-3-14 takes about 15 s for a 5 s clip). */
export const SCALED_EMULATOR_ENV: Record<string, string> = {
  LUMA_EMULATOR_LATENCY_MS: '3000',
  LUMA_EMULATOR_IMAGE_LATENCY_MS: '1000',
  LUMA_EMULATOR_QUEUE_MS: '500',
  LUMA_EMULATOR_CONCURRENCY: '10',
  LUMA_EMULATOR_IMAGE_CONCURRENCY: '40',
  LUMA_EMULATOR_CREATES_PER_MINUTE: '60',
  LUMA_EMULATOR_IMAGE_CREATES_PER_MINUTE: '240',
  LUMA_EMULATOR_RENDER_CONCURRENCY: '2',
};
