import { Context } from '@temporalio/activity';

/** How often a long step heartbeats; the SDK throttles sends to 0.8 × the heartbeat timeout anyway. */
const HEARTBEAT_EVERY_MS = 2000;

/**
 * Runs `work` while heartbeating on a timer, so a step that makes no progress callbacks of its own (a download, a
 * sharp resize, a create request) still proves it is alive and still hears a cancellation. Outside an activity
 * (plain unit tests) it just runs `work`.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, details?: () => unknown): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return work();
  }
  const beat = () => ctx.heartbeat(details?.());
  beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
