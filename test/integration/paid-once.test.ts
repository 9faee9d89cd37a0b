import type { ChildProcess } from 'node:child_process';
import { getStats, setFaults } from '../../emulator/admin';
import { expectPaidOnceAndCounted, ledgerOf } from '../helpers/ledger';
import { killed, spawnWorker } from '../helpers/processes';
import type { StoryInputForTests } from '../helpers/stories';
import { smallStory } from '../helpers/stories';
import { eventually, startTestStack, waitForStage, type TestStack } from '../helpers/stack';

// Every paid call once, under the faults a real provider and a real deployment produce. Each test ends with the
// emulator's ledger: exactly one billed generation per idempotency key, and the story's credits equal its charge.
// Timings scaled down: creates time out after 1.5 s, list and get calls after 1 s.
const TIMINGS = { LUMA_CREATE_TIMEOUT_MS: '1500', LUMA_LIST_TIMEOUT_MS: '1000' };

describe('with in-process workers', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ env: TIMINGS });
  });
  afterEach(async () => {
    await setFaults(stack.emulator.origin, {});
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Runs a story to its end with `faults` on from its start, approving the keyframes. */
  async function runWith(storyId: string, faults: Parameters<typeof setFaults>[1], story?: StoryInputForTests) {
    await setFaults(stack.emulator.origin, faults);
    await stack.client.start(story ?? smallStory({ shots: 2, variations: 2 }), { storyId });
    await waitForStage(stack, storyId, 'awaiting-keyframe-review');
    await stack.client.reviewKeyframes(storyId, { approve: true });
    return stack.client.result(storyId);
  }

  test('lost create responses (images and clips) are found again, never paid twice', async () => {
    const result = await runWith('lost-responses', { dropResponseRate: 0.5, seed: 7 });
    expect(result.status).toBe('completed');
    expect((await getStats(stack.emulator.origin)).requests.byStatus.dropped).toBeGreaterThanOrEqual(2);
    await expectPaidOnceAndCounted(stack, result);
  });

  test('creates answered after the create timeout are found again by the next attempt', async () => {
    const result = await runWith('slow-creates', { extraLatencyMs: 3000 });
    expect(result.status).toBe('completed');
    const ledger = await ledgerOf(stack, 'slow-creates');
    // 6 keyframe images and 2 clips, every one of them created by a timed-out attempt and found again.
    expect(Object.keys(ledger.keys)).toHaveLength(8);
    await expectPaidOnceAndCounted(stack, result);
  });

  test('a reconciliation whose list call hangs gives up without creating, and a later attempt finds the create', async () => {
    // Every create loses its answer, and the next three list calls hang past the 1 s list timeout.
    const result = await runWith(
      'hanging-list',
      { dropNext: 3, slowListNext: 3 },
      smallStory({ shots: 1, variations: 1 })
    );
    expect(result.status).toBe('completed');
    expect((await getStats(stack.emulator.origin)).faults.slowListNext).toBe(0);
    await expectPaidOnceAndCounted(stack, result);
  });

  test('a story cancelled while a clip create is on the wire finds that generation, stops it and lists it as paid', async () => {
    const id = 'cancel-mid-create';
    await stack.client.start(smallStory({ shots: 1, variations: 1 }), { storyId: id });
    await waitForStage(stack, id, 'awaiting-keyframe-review');
    // The clip's create is recorded and billed at once, but answered only after 20 s; the clip dreams for long.
    await setFaults(stack.emulator.origin, { slowCreateRate: 1, slowCreateMs: 20_000, extraDreamingMs: 60_000 });
    await stack.client.reviewKeyframes(id, { approve: true });
    await eventually(
      async () => (Object.keys((await ledgerOf(stack, id)).keys).some((k) => k.includes('/shot/')) ? true : undefined),
      30_000,
      'the clip create to reach the emulator'
    );
    await stack.client.cancel(id);
    const result = await stack.client.result(id);
    expect(result.status).toBe('cancelled');
    const clipKey = Object.entries((await ledgerOf(stack, id)).keys).find(([k]) => k.includes('/shot/'))!;
    const [clipId] = clipKey[1].generationIds;
    expect(result.paid).toContainEqual(expect.objectContaining({ generationId: clipId, credits: 3 }));
    expect(
      (await getStats(stack.emulator.origin)).keys[stack.lumaKey].generations.find((g) => g.id === clipId)
    ).toMatchObject({ deleted: true });
    expect((await getStats(stack.emulator.origin)).keys[stack.lumaKey].inFlight).toBe(0);
    await expectPaidOnceAndCounted(stack, result);
  });
});

describe('with a worker process killed between a create and its answer', () => {
  let stack: TestStack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    stack = await startTestStack({ env: TIMINGS, startWorkers: false });
  });
  afterAll(async () => {
    await Promise.all(children.map(killed));
    await stack?.close();
  });

  test('the create reached Luma, the worker died before the answer: the next worker finds it, nothing paid twice', async () => {
    const id = 'killed-mid-create';
    const first = spawnWorker(stack, 'mid-create-1');
    children.push(first);
    await stack.client.start(smallStory({ shots: 1, variations: 1 }), { storyId: id });
    await waitForStage(stack, id, 'awaiting-keyframe-review', 120_000);
    // The create is recorded at once; its answer would come after a minute, long after the worker is gone.
    await setFaults(stack.emulator.origin, { slowCreateRate: 1, slowCreateMs: 60_000 });
    await stack.client.reviewKeyframes(id, { approve: true });
    await eventually(
      async () => (Object.keys((await ledgerOf(stack, id)).keys).some((k) => k.includes('/shot/')) ? true : undefined),
      30_000,
      'the clip create to reach the emulator'
    );
    await killed(first);
    await setFaults(stack.emulator.origin, {});
    children.push(spawnWorker(stack, 'mid-create-2'));
    const result = await stack.client.result(id);
    expect(result.status).toBe('completed');
    expect(result.shots[0].attempts).toBe(1);
    await expectPaidOnceAndCounted(stack, result);
  });
});
