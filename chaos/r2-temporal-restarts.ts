import { allOf, type PartResult } from './report';
import { pause, type ChaosContext } from './context';
import { runStories } from './driver';
import { notCompleted } from './r1-worker-kills';
import { describe, storyMix } from './stories';

/**
 * R2 server restarts: stories run while the Temporal dev server is stopped and started again (same SQLite file, same
 * port) the profile's number of times. Workers and the HTTP server are left alone: they must reconnect by themselves.
 */
export async function runTemporalRestarts(ctx: ChaosContext): Promise<PartResult> {
  const started = Date.now();
  const { stories: n, restarts, downMs, deadlineMs } = ctx.profile.r2;
  const deadline = started + deadlineMs;
  // HTTP starts and reviews for half of them: the server process has to find Temporal again too.
  const stories = storyMix('r2', n, ctx.random).map((s, i) => ({
    ...s,
    start: i % 2 === 0 ? ('http' as const) : ('library' as const),
    review: i % 2 === 0 ? ('http-token' as const) : ('library' as const),
  }));
  for (const s of stories) ctx.log(`R2 ${describe(s)}`);
  const exitsBefore = ctx.stack.group.unexpectedExits().length;

  const running = runStories(ctx, stories, deadline, { staggerMs: 500 });
  const outages: Array<{ atSeconds: number; downMs: number }> = [];
  let firstGap = 12_000;
  for (let i = 0; i < restarts; i++) {
    await pause(firstGap);
    firstGap = 15_000;
    ctx.log(`R2 stopping the Temporal dev server (#${i + 1})`);
    outages.push({ atSeconds: Math.round((Date.now() - started) / 100) / 10, downMs });
    await ctx.stack.restartTemporal(downMs);
    ctx.log('R2 Temporal dev server is back');
  }
  const outcomes = await running;
  const completed = outcomes.filter((o) => o.status === 'completed').length;
  return {
    part: 'R2',
    title: `server restarts: ${n} stories, Temporal dev server stopped and started ${outages.length}×`,
    seconds: (Date.now() - started) / 1000,
    figures: [allOf('R2', 'stories resumed and completed', completed, n)],
    details: {
      outages,
      notCompleted: notCompleted(outcomes),
      processesDied: ctx.stack.group.unexpectedExits().slice(exitsBefore),
      stories: stories.map(describe),
      storySeconds: Object.fromEntries(outcomes.map((o) => [o.storyId, o.seconds])),
    },
  };
}
