import { gateState, gateWorkflowId } from '../../common/gate';
import type { StoryProgress } from '../../common/progress';
import { getStats, setFaults } from '../../emulator/admin';
import { expectPaidOnceAndCounted } from '../helpers/ledger';
import { smallStory } from '../helpers/stories';
import { eventually, startTestStack, waitForStage, type TestStack } from '../helpers/stack';

// The account-wide gate under operators' hands: holders terminated or reset mid-generation give their slots back
// within the liveness check (half a second here, 30 s by default), and the shots queued behind them go on.
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    env: { LUMA_MAX_IN_FLIGHT: '1', REELFLOW_GATE_CHECK_MS: '500', REELFLOW_GATE_RECHECK_MS: '3000' },
    emulator: { latencyMs: 2500 },
  });
});
afterAll(async () => {
  await stack?.close();
});

const gate = () => stack.temporal.workflow.getHandle(gateWorkflowId(stack.config.queues.prefix));
/** Waits until the gate holds and queues nothing; answers its state. */
const emptyGate = () =>
  eventually(
    async () => {
      const s = await gate().query(gateState);
      return s.holders.length === 0 && s.waiting.length === 0 ? s : undefined;
    },
    10_000,
    'an empty gate'
  );
const dreamingAttempt = (p: StoryProgress, exclude: string[] = []) =>
  p.shots
    .flatMap((s) => s.attempts.map((a) => ({ shot: s.index + 1, ...a })))
    .find((a) => a.state === 'dreaming' && !exclude.includes(`${a.shot}/${a.attempt}`));

test('terminating and resetting permit holders frees their slots; queued shots proceed; nothing is left held', async () => {
  const id = 'gate-ops';
  await stack.client.start(smallStory({ shots: 3, review: { keyframes: false }, transition: { crossfade: 0 } }), {
    storyId: id,
  });
  // One slot: one clip dreams, two shots wait at the gate.
  const first = await waitForStage(stack, id, (p) => !!dreamingAttempt(p));
  const victim = dreamingAttempt(first)!;
  const victimId = `${id}-shot-${victim.shot}-attempt-${victim.attempt}`;
  expect((await gate().query(gateState)).holders).toHaveLength(1);
  await stack.temporal.workflow.getHandle(victimId).terminate('operator: stuck clip');

  // The slot comes back and another shot's clip starts dreaming.
  const second = await waitForStage(stack, id, (p) => !!dreamingAttempt(p, [`${victim.shot}/${victim.attempt}`]));
  const reset = dreamingAttempt(second, [`${victim.shot}/${victim.attempt}`])!;
  const resetId = `${id}-shot-${reset.shot}-attempt-${reset.attempt}`;
  const handle = stack.temporal.workflow.getHandle(resetId);
  const { runId } = await handle.describe();
  const history = await handle.fetchHistory();
  const firstTask = history.events!.find((e) => e.workflowTaskCompletedEventAttributes)!;
  await stack.temporal.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId: resetId, runId },
    workflowTaskFinishEventId: firstTask.eventId,
    reason: 'operator: reset a clip attempt',
    requestId: `reset-${Date.now()}`,
  });

  const result = await stack.client.result(id);
  expect(result.status).toBe('completed');
  // The terminated attempt was settled (stopped at Luma, paid) and its shot tried again.
  const victimShot = result.shots[victim.shot - 1];
  expect(victimShot.attempts).toBe(2);
  // The reset attempt found its own generation again instead of paying for a second one.
  expect(result.shots[reset.shot - 1].generationIds).toEqual([reset.generationId]);

  const state = await emptyGate();
  expect(state.inFlight).toEqual({ video: 0, image: 0 });
  expect((await getStats(stack.emulator.origin)).keys[stack.lumaKey].inFlight).toBe(0);
});

test('waiters whose requests the gate lost (an operator terminated it) ask again and go on', async () => {
  const id = 'gate-lost';
  await stack.client.start(smallStory({ shots: 3, review: { keyframes: false }, transition: { crossfade: 0 } }), {
    storyId: id,
  });
  // One clip dreams, two shots wait at the gate; then the gate and every request it held are gone.
  await waitForStage(stack, id, (p) => !!dreamingAttempt(p));
  await eventually(
    async () => ((await gate().query(gateState)).waiting.length === 2 ? true : undefined),
    20_000,
    'two waiters'
  );
  await gate().terminate('operator: gate stuck');
  const result = await stack.client.result(id);
  expect(result.status).toBe('completed');
  expect(result.shots.map((s) => s.attempts)).toEqual([1, 1, 1]);
  await expectPaidOnceAndCounted(stack, result);
  const state = await emptyGate();
  expect(state.inFlight.video).toBe(0);
});

describe('a burst of stories against the account limits of both model families', () => {
  let burst: TestStack;
  beforeAll(async () => {
    // Luma's limits scaled down: 6 images in flight and 12 image creates a minute, 2 clips in flight.
    const limits = { imageConcurrency: 6, imageCreatesPerMinute: 12, concurrency: 2, createsPerMinute: 20 };
    burst = await startTestStack({
      env: {
        LUMA_IMAGE_MAX_IN_FLIGHT: '6',
        LUMA_IMAGE_CREATES_PER_MINUTE: '12',
        LUMA_MAX_IN_FLIGHT: '2',
        LUMA_CREATES_PER_MINUTE: '20',
      },
      emulator: { ...limits, latencyMs: 300 },
    });
  });
  afterAll(async () => {
    await burst?.close();
  });

  test('six stories at once under light faults meet no 429 from the provider: images and clips are both gated', async () => {
    // Light faults: some creates answered 5xx (nothing recorded), so retried creates are part of the burst too.
    await setFaults(burst.emulator.origin, { serverErrorRate: 0.1, seed: 3 });
    const ids = ['burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5', 'burst-6'];
    // 6 × 3 boundaries = 18 images (more than a minute's worth) and 6 × 2 clips.
    const story = smallStory({ shots: 2, variations: 1, review: { keyframes: false }, transition: { crossfade: 0 } });
    await Promise.all(ids.map((id) => burst.client.start(story, { storyId: id })));
    const results = await Promise.all(ids.map((id) => burst.client.result(id)));
    await setFaults(burst.emulator.origin, {});
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'completed'));
    const account = (await getStats(burst.emulator.origin)).keys[burst.lumaKey];
    expect(account.rateLimited).toEqual({ injected: 0, inFlight: 0, perMinute: 0 });
    expect(account.families.image.maxInFlight).toBeLessThanOrEqual(6);
    expect(account.families.video.maxInFlight).toBe(2);
    for (const result of results) await expectPaidOnceAndCounted(burst, result);
  }, 240_000);
});
