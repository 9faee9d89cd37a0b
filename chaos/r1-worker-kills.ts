import { allOf, figure, zero, type PartResult } from './report';
import { between, ledgerOf, pause, type ChaosContext } from './context';
import { runStories, type StoryOutcome } from './driver';
import { describe, storyMix } from './stories';

/**
 * R1 worker crashes: the profile's stories (parallel and chained, 3–5 shots, with and without keyframe and clip
 * review) while worker processes are SIGKILLed at seeded random moments and started again. Paid once and counted
 * right are read from the emulator's ledger.
 */
export async function runWorkerKills(ctx: ChaosContext): Promise<PartResult> {
  const started = Date.now();
  const { stories: n, kills: target, killGapMs, deadlineMs } = ctx.profile.r1;
  const deadline = started + deadlineMs;
  const stories = storyMix('r1', n, ctx.random);
  for (const s of stories) ctx.log(`R1 ${describe(s)}`);

  let done = false;
  const kills: Array<{ worker: string; atSeconds: number; downMs: number }> = [];
  const killer = (async () => {
    while (!done && kills.length < target && Date.now() < deadline) {
      await pause(between(ctx.random, killGapMs[0], killGapMs[1]));
      if (done) break;
      const worker = ctx.stack.workerNames[Math.floor(ctx.random() * ctx.stack.workerNames.length)];
      const downMs = Math.round(between(ctx.random, 500, 3000));
      await ctx.stack.group.kill(worker);
      kills.push({ worker, atSeconds: Math.round((Date.now() - started) / 100) / 10, downMs });
      ctx.log(`R1 SIGKILL ${worker} (#${kills.length}); back in ${downMs} ms`);
      await pause(downMs);
      await ctx.stack.startWorker(worker);
    }
  })();
  const outcomes = await runStories(ctx, stories, deadline, { staggerMs: 1500 });
  done = true;
  await killer;

  const ids = stories.map((s) => s.id);
  const ledger = await ledgerOf(ctx, ids);
  const credits = outcomes.reduce((sum, o) => sum + o.credits, 0);
  const ratio = ledger.netCredits === 0 ? 0 : credits / ledger.netCredits;
  const completed = outcomes.filter((o) => o.status === 'completed').length;
  return {
    part: 'R1',
    title: `worker crashes: ${n} stories, ${kills.length} SIGKILLs of worker processes, seed ${ctx.seed}`,
    seconds: (Date.now() - started) / 1000,
    figures: [
      allOf('R1', 'stories completed ÷ started', completed, n),
      zero('R1', 'idempotency keys paid more than once (ledger)', ledger.paidTwice.length),
      figure(
        'R1',
        'result credits ÷ emulator net charge',
        ratio.toFixed(3),
        '1.000',
        ledger.netCredits > 0 && Math.abs(ratio - 1) < 0.0005
      ),
      figure('R1', '(condition) worker SIGKILLs', String(kills.length), `≥ ${target}`, kills.length >= target),
    ],
    details: {
      kills,
      paidTwice: ledger.paidTwice,
      resultCredits: Math.round(credits * 10_000) / 10_000,
      netCredits: ledger.netCredits,
      billed: ledger.billed,
      notCompleted: notCompleted(outcomes),
      completedIds: outcomes.filter((o) => o.status === 'completed').map((o) => o.storyId),
      stories: stories.map(describe),
      storySeconds: Object.fromEntries(outcomes.map((o) => [o.storyId, o.seconds])),
    },
  };
}

/** The outcomes that did not complete, with what is known about them. */
export function notCompleted(outcomes: StoryOutcome[]): StoryOutcome[] {
  return outcomes.filter((o) => o.status !== 'completed');
}
