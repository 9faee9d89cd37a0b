import { getStats, setFaults } from '../../emulator/admin';
import type { StoryInputForTests } from '../helpers/stories';
import { expectPaidOnceAndCounted, ledgerOf } from '../helpers/ledger';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

// Real timings scaled down: a polling window of 1 s stands for the default 10 minutes, a few seconds of extra
// dreaming for an hour in Luma's queue.
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    env: { REELFLOW_POLL_WINDOW_MS: '1000', REELFLOW_IO_CONCURRENCY: '1' },
    emulator: { latencyMs: 300 },
  });
});
afterAll(async () => {
  await stack?.close();
});

/** Starts a story, lets its keyframes be made at normal speed, then approves them with `extraDreamingMs` for clips. */
async function startWithSlowClips(story: StoryInputForTests, storyId: string, extraDreamingMs: number) {
  await stack.client.start(story, { storyId });
  await waitForStage(stack, storyId, 'awaiting-keyframe-review');
  await setFaults(stack.emulator.origin, { extraDreamingMs });
  await stack.client.reviewKeyframes(storyId, { approve: true });
  const result = await stack.client.result(storyId);
  await setFaults(stack.emulator.origin, {});
  return result;
}

const clipsOf = async (storyId: string) => {
  const { keys } = await ledgerOf(stack, storyId);
  const ids = Object.entries(keys)
    .filter(([key]) => key.includes('/shot/'))
    .flatMap(([, e]) => e.generationIds);
  const all = (await getStats(stack.emulator.origin)).keys[stack.lumaKey].generations;
  return all.filter((g) => ids.includes(g.id));
};

test('a clip that dreams far longer than one polling activity still completes and is collected once', async () => {
  const story = smallStory({ shots: 1, transition: { crossfade: 0 } });
  // The clip dreams 6 s longer: six polling windows and more.
  const result = await startWithSlowClips(story, 'long-queue', 6000);
  expect(result.status).toBe('completed');
  expect(result.shots[0].attempts).toBe(1);
  const clips = await clipsOf('long-queue');
  expect(clips).toHaveLength(1);
  expect(clips[0].state).toBe('completed');
  await expectPaidOnceAndCounted(stack, result);
});

test('a generation past the story generationTimeout is stopped, fails the shot by name, and stays in the result as paid', async () => {
  const story = smallStory({ shots: 1, transition: { crossfade: 0 }, generationTimeout: '4s' });
  const result = await startWithSlowClips(story, 'too-long', 60_000);
  expect(result.status).toBe('failed');
  expect(result.error).toMatch(/^shot 1: Luma made no clip within generationTimeout \(4s\)/);
  const [clip] = await clipsOf('too-long');
  // Stopped at Luma (no longer in flight) and, as it was not refunded, counted in the result.
  expect((await getStats(stack.emulator.origin)).keys[stack.lumaKey].inFlight).toBe(0);
  expect(result.paid?.find((p) => p.generationId === clip.id)).toMatchObject({ credits: 3 });
  expect(result.shots[0].generationIds).toEqual([clip.id]);
  expect(clip.deleted).toBe(true);
  await expectPaidOnceAndCounted(stack, result);
});

test('polls wait on their own queue: with one io slot, a second clip is created while the first is being polled', async () => {
  const story = smallStory({ shots: 2, transition: { crossfade: 0 } });
  const before = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  const result = await startWithSlowClips(story, 'slots', 3000);
  expect(result.status).toBe('completed');
  const after = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  expect(after.created - before.created).toBe(5);
  // Both clips were dreaming at once although the io queue has a single slot.
  expect(after.maxInFlight).toBeGreaterThanOrEqual(2);
});
