import type { ChildProcess } from 'node:child_process';
import { clearFaults, getStats, setFaults } from '../../emulator/admin';
import { expectPaidOnceAndCounted } from '../helpers/ledger';
import { killed, spawnWorker } from '../helpers/processes';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

describe('with workers in their own processes', () => {
  let stack: TestStack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    // Clips stay `dreaming` long enough for the worker to be killed while it waits on them.
    stack = await startTestStack({ startWorkers: false, emulator: { latencyMs: 4000 } });
  });
  afterAll(async () => {
    await Promise.all(children.map(killed));
    await stack?.close();
  });

  test('killing the worker while clips are generating resumes the same generations; nothing is paid twice', async () => {
    const first = spawnWorker(stack, 'before-kill');
    children.push(first);
    const story = smallStory({ shots: 2, review: { keyframes: false } });
    await stack.client.start(story, { storyId: 'killed-worker' });
    const dreaming = await waitForStage(stack, 'killed-worker', (p) =>
      p.shots.every((s) => s.attempts.some((a) => a.generationId && a.state === 'dreaming'))
    );
    const idsBeforeKill = dreaming.shots.map((s) => s.attempts[0].generationId);
    await killed(first);

    const second = spawnWorker(stack, 'after-kill');
    children.push(second);
    const result = await stack.client.result('killed-worker');
    expect(result.status).toBe('completed');
    expect(result.shots.map((s) => s.generationIds)).toEqual(idsBeforeKill.map((id) => [id]));

    const account = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
    // 3 keyframe images + 2 clips, each created and billed exactly once.
    expect(account.created).toBe(5);
    expect(account.billed).toBe(5);
    await expectPaidOnceAndCounted(stack, result);
    await killed(second);
  });
});

describe('with in-process workers', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterEach(async () => {
    await clearFaults(stack.emulator.origin);
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('a create whose response was lost is found again instead of paid twice', async () => {
    const before = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
    // The first image create and, after the review, the first clip create lose their responses.
    await setFaults(stack.emulator.origin, { dropNext: 1 });
    await stack.client.start(smallStory({ shots: 1 }), { storyId: 'lost-response' });
    await waitForStage(stack, 'lost-response', 'awaiting-keyframe-review');
    await setFaults(stack.emulator.origin, { dropNext: 1 });
    await stack.client.reviewKeyframes('lost-response', { approve: true });
    const result = await stack.client.result('lost-response');
    expect(result.status).toBe('completed');

    const after = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
    expect((await getStats(stack.emulator.origin)).faults.dropNext).toBe(0);
    // 2 keyframe images + 1 clip: every generation created once, billed once.
    expect(after.created - before.created).toBe(3);
    expect(after.billed - before.billed).toBe(3);
    expect(result.shots[0].generationIds).toHaveLength(1);
  });

  test('a 429 from Luma is retried after a delay and not counted as a failed attempt', async () => {
    await stack.client.start(smallStory({ shots: 1 }), { storyId: 'rate-limited' });
    await waitForStage(stack, 'rate-limited', 'awaiting-keyframe-review');
    const before = (await getStats(stack.emulator.origin)).requests.byStatus['429'] ?? 0;
    await setFaults(stack.emulator.origin, { rateLimitNext: 2 });
    await stack.client.reviewKeyframes('rate-limited', { approve: true });
    const result = await stack.client.result('rate-limited');
    expect(result.status).toBe('completed');
    expect(result.shots[0].attempts).toBe(1);
    expect((await getStats(stack.emulator.origin)).requests.byStatus['429']).toBe(before + 2);
  });

  test('failed generations are retried as new attempts and counted; their credits are refunded', async () => {
    await stack.client.start(smallStory({ shots: 2 }), { storyId: 'failed-generation' });
    await waitForStage(stack, 'failed-generation', 'awaiting-keyframe-review');
    await setFaults(stack.emulator.origin, { failNext: 1, failureReason: 'Prompt processing failed' });
    await stack.client.reviewKeyframes('failed-generation', { approve: true });
    const result = await stack.client.result('failed-generation');
    expect(result.status).toBe('completed');
    expect(result.shots.map((s) => s.attempts).sort()).toEqual([1, 2]);
    const progress = await stack.client.progress('failed-generation');
    const failed = progress.shots.flatMap((s) => s.attempts).filter((a) => a.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].failureReason).toBe('Prompt processing failed');
    // A failed generation is refunded, so the story costs what the estimate said.
    expect(result.credits).toBeCloseTo(progress.cost.estimated.credits, 6);
    await expectPaidOnceAndCounted(stack, result);
  });
});
