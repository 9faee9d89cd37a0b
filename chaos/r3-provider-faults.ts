import { clearFaults, getStats, resetStats, setFaults } from '../emulator/admin';
import type { FaultConfig } from '../emulator/faults';
import { ledgerOf, type ChaosContext } from './context';
import { runStories, type StoryOutcome } from './driver';
import { percentOf, zero, type PartResult } from './report';
import { describe, storyMix } from './stories';

/** The failure_reason of injected failed generations: one of Luma's own texts. */
export const INJECTED_FAILURE = 'Prompt processing failed';

/** The fault mix; slowed creates answer after twice the create timeout. */
export function faultMix(seed: number, createTimeoutMs: number): FaultConfig {
  return {
    failRate: 0.2,
    failureReason: INJECTED_FAILURE,
    rateLimitRate: 0.1,
    serverErrorRate: 0.05,
    serverErrorStatus: 503,
    dropResponseRate: 0.05,
    slowCreateRate: 0.05,
    slowCreateMs: 2 * createTimeoutMs,
    scope: 'creates',
    seed,
  };
}

/**
 * Whether a story ended as R3 allows: completed, or failed with a reason that names the shot (or the keyframe
 * boundary) and the provider's failure.
 */
export function endedWell(o: StoryOutcome): boolean {
  if (o.status === 'completed') return true;
  if (o.status !== 'failed' || !o.error) return false;
  return /\b(shot|keyframe) \d+\b/.test(o.error) && o.error.includes(INJECTED_FAILURE);
}

/**
 * R3 provider faults: stories under the emulator's fault mix. Figures: each story completed or failed naming the
 * shot and the provider's failure; keys paid twice (ledger); 429s the emulator gave for its own limits, beyond the
 * injected ones (the gate must keep every create inside the account's caps).
 */
export async function runProviderFaults(ctx: ChaosContext): Promise<PartResult> {
  const started = Date.now();
  const { stories: n, deadlineMs } = ctx.profile.r3;
  const stories = storyMix('r3', n, ctx.random);
  for (const s of stories) ctx.log(`R3 ${describe(s)}`);
  const faults = faultMix(ctx.seed, ctx.stack.config.luma.createTimeoutMs);
  await resetStats(ctx.stack.emulatorOrigin);
  await setFaults(ctx.stack.emulatorOrigin, faults);
  let outcomes: StoryOutcome[];
  let stats;
  try {
    outcomes = await runStories(ctx, stories, started + deadlineMs, { staggerMs: 1000 });
  } finally {
    stats = await getStats(ctx.stack.emulatorOrigin);
    await clearFaults(ctx.stack.emulatorOrigin);
  }
  const account = stats.keys[ctx.stack.lumaKey];
  const ledger = await ledgerOf(
    ctx,
    stories.map((s) => s.id)
  );
  const well = outcomes.filter(endedWell).length;
  const limit429 = account.rateLimited.inFlight + account.rateLimited.perMinute;
  return {
    part: 'R3',
    title: `provider faults: ${n} stories under 20 % failed, 10 % 429, 5 % 5xx, 5 % lost, 5 % slow creates`,
    seconds: (Date.now() - started) / 1000,
    figures: [
      percentOf('R3', 'stories completed, or failed naming shot and provider failure', well, n),
      zero('R3', 'idempotency keys paid more than once (ledger)', ledger.paidTwice.length),
      zero('R3', "429s beyond those injected (the emulator's own limits)", limit429),
    ],
    details: {
      faults,
      completed: outcomes.filter((o) => o.status === 'completed').length,
      failedWithReason: outcomes.filter((o) => o.status === 'failed' && endedWell(o)).map((o) => o.error),
      notEndedWell: outcomes.filter((o) => !endedWell(o)),
      rateLimited: account.rateLimited,
      requestsByStatus: stats.requests.byStatus,
      paidTwice: ledger.paidTwice,
      stories: stories.map(describe),
      storySeconds: Object.fromEntries(outcomes.map((o) => [o.storyId, o.seconds])),
    },
  };
}
