import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { ReelflowError } from '../../client/reelflow-client';
import { getStats, setBalance } from '../../emulator/admin';
import { expectPaidOnceAndCounted } from '../helpers/ledger';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

let stack: TestStack;
const fixtures = mkdtempSync(path.join(os.tmpdir(), 'reelflow-keyframes-'));

/** A distinct 960x540 picture per index: a colour field with a bright box in a different place. */
async function keyframeFile(i: number): Promise<string> {
  const file = path.join(fixtures, `k${i}.png`);
  const hue = [
    [200, 40, 40],
    [40, 160, 60],
    [40, 60, 200],
    [220, 200, 40],
    [150, 40, 180],
  ][i % 5];
  await sharp({ create: { width: 960, height: 540, channels: 3, background: { r: hue[0], g: hue[1], b: hue[2] } } })
    .composite([
      {
        input: await sharp({ create: { width: 200, height: 160, channels: 3, background: '#ffffff' } })
          .png()
          .toBuffer(),
        left: 80 + i * 150,
        top: 60 + (i % 3) * 100,
      },
    ])
    .png()
    .toFile(file);
  return file;
}

beforeAll(async () => {
  stack = await startTestStack({ env: { LUMA_MAX_IN_FLIGHT: '2' }, emulator: { latencyMs: 1500 } });
});
afterAll(async () => {
  await stack?.close();
  rmSync(fixtures, { recursive: true, force: true });
});

test('the account-wide cap holds with 3 stories at once and the cap set to 2', async () => {
  const keyframes = await Promise.all([0, 1, 2].map(keyframeFile));
  const story = smallStory({ shots: 2, keyframes, review: { keyframes: false }, transition: { crossfade: 0 } });
  const ids = ['cap-a', 'cap-b', 'cap-c'];
  await Promise.all(ids.map((id) => stack.client.start(story, { storyId: id })));
  const results = await Promise.all(ids.map((id) => stack.client.result(id)));
  expect(results.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
  const account = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  // Supplied keyframes: the only generations are the 6 clips, never more than 2 in flight at once.
  expect(account.created).toBe(6);
  expect(account.maxInFlight).toBe(2);
});

test('an invalid story is refused with the field and the reason, and nothing starts', async () => {
  const bad = { ...smallStory({ shots: 2 }), resolution: '8k', shots: [{ description: 'ok', duration: 7 }] };
  const error = await stack.client.start(bad, { storyId: 'invalid-story' }).catch((e) => e);
  expect(error).toBeInstanceOf(ReelflowError);
  expect(error.code).toBe('invalid');
  expect(error.message).toMatch(/resolution/);
  expect(error.message).toMatch(/shots\[0\]\.duration: must be 5 or 9/);
  await expect(stack.client.progress('invalid-story')).rejects.toMatchObject({ code: 'not-found' });
});

test('a bad review update is refused with a clear message and changes nothing', async () => {
  await stack.client.start(smallStory({ shots: 1, variations: 2 }), { storyId: 'bad-review' });
  const waiting = await waitForStage(stack, 'bad-review', 'awaiting-keyframe-review');
  const refused = await stack.client
    .reviewKeyframes('bad-review', {
      picks: [
        { boundary: 5, variation: 0 },
        { boundary: 0, variation: 7 },
      ],
      approve: true,
    })
    .catch((e) => e);
  expect(refused).toBeInstanceOf(ReelflowError);
  expect(refused.code).toBe('rejected');
  expect(refused.message).toMatch(/picks\[0\]\.boundary: no boundary 5 \(this story has 0\.\.1\)/);
  expect(refused.message).toMatch(/picks\[1\]\.variation: boundary 0 has no ready variation 7/);
  const after = await stack.client.progress('bad-review');
  expect(after.stage).toBe('awaiting-keyframe-review');
  expect(after.keyframes.map((k) => k.picked)).toEqual(waiting.keyframes.map((k) => k.picked));

  await stack.client.reviewKeyframes('bad-review', { approve: true });
  const late = await stack.client.reviewKeyframes('bad-review', { approve: true }).catch((e) => e);
  expect(late.code).toBe('conflict');
  expect(late.message).toMatch(/not waiting for a keyframe review/);
  expect((await stack.client.result('bad-review')).status).toBe('completed');
});

test('regenerating a boundary with a new prompt adds variations and needs a new approval', async () => {
  await stack.client.start(smallStory({ shots: 1, variations: 1 }), { storyId: 'regenerate' });
  await waitForStage(stack, 'regenerate', 'awaiting-keyframe-review');
  await stack.client.reviewKeyframes('regenerate', {
    regenerate: [{ boundary: 1, prompt: 'a closing frame at night' }],
  });
  const again = await waitForStage(
    stack,
    'regenerate',
    (p) => p.stage === 'awaiting-keyframe-review' && p.keyframes[1].variations.length === 2
  );
  expect(again.keyframes[1].prompt).toBe('a closing frame at night');
  expect(again.keyframes[1].round).toBe(2);
  await stack.client.reviewKeyframes('regenerate', { picks: [{ boundary: 1, variation: 1 }], approve: true });
  const result = await stack.client.result('regenerate');
  expect(result.status).toBe('completed');
  expect(result.keyframes[1]).toMatchObject({ picked: 1 });
  expect(result.keyframes[1].images).toHaveLength(2);
});

test('an over-budget story fails before spending anything, naming the budget', async () => {
  const before = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  await stack.client.start(smallStory({ shots: 2, budgetCredits: 2 }), { storyId: 'over-budget' });
  const result = await stack.client.result('over-budget');
  expect(result.status).toBe('failed');
  expect(result.error).toMatch(/needs 8\.4 credits.*budget of 2 credits/);
  const after = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  expect(after.created).toBe(before.created);
});

test('a story that waits for budget goes on once the budget is raised', async () => {
  await stack.client.start(
    smallStory({ shots: 1, budgetCredits: 1, onBudgetExceeded: 'wait', review: { keyframes: false } }),
    {
      storyId: 'raise-budget',
    }
  );
  await waitForStage(stack, 'raise-budget', (p) => p.cost.waitingForBudget);
  const refused = await stack.client.raiseBudget('raise-budget', 0.5).catch((e) => e);
  expect(refused.code).toBe('rejected');
  await stack.client.raiseBudget('raise-budget', 10);
  const result = await stack.client.result('raise-budget');
  expect(result.status).toBe('completed');
  expect(result.credits).toBeLessThanOrEqual(10);
  await expectPaidOnceAndCounted(stack, result);
});

test('cancelling mid-run deletes in-flight generations and keeps what was made', async () => {
  await stack.client.start(smallStory({ shots: 2, review: { keyframes: false } }), { storyId: 'cancel-me' });
  const running = await waitForStage(stack, 'cancel-me', (p) =>
    p.shots.some((s) => s.attempts.some((a) => a.generationId && a.state === 'dreaming'))
  );
  await stack.client.cancel('cancel-me');
  const result = await stack.client.result('cancel-me');
  expect(result.status).toBe('cancelled');
  const images = result.keyframes.flatMap((k) => k.images);
  expect(images).toHaveLength(3);
  for (const file of images) expect(existsSync(file)).toBe(true);
  const inFlight = running.shots.flatMap((s) => s.attempts).find((a) => a.generationId && a.state === 'dreaming')!;
  const stats = await getStats(stack.emulator.origin);
  // Stopped at Luma (gone from its API, kept in its ledger as billed) and listed in the result as paid.
  const stopped = stats.keys[stack.lumaKey].generations.find((g) => g.id === inFlight.generationId);
  expect(stopped).toMatchObject({ deleted: true, refunded: false });
  expect(result.paid?.map((p) => p.generationId)).toContain(inFlight.generationId);
  await expectPaidOnceAndCounted(stack, result);
  const progress = await stack.client.progress('cancel-me');
  expect(progress.stage).toBe('cancelled');
});

test('a supplied keyframe that is not an image is refused before the story starts, naming the field', async () => {
  const notAnImage = path.join(fixtures, 'notes.png');
  writeFileSync(notAnImage, 'these are notes, not a picture');
  const good = await keyframeFile(3);
  const before = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  const refused = await stack.client
    .start(smallStory({ shots: 1, keyframes: [good, notAnImage], review: { keyframes: false } }), {
      storyId: 'bad-keyframe',
    })
    .catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ReelflowError);
  expect((refused as ReelflowError).code).toBe('invalid');
  expect((refused as ReelflowError).message).toMatch(/keyframes\[1\]: notes\.png: unknown bytes, not a JPEG/);
  await expect(stack.client.progress('bad-keyframe')).rejects.toMatchObject({ code: 'not-found' });
  const after = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  expect(after.created).toBe(before.created);
});

test('a 400 from Luma is not retried and its reason reaches the result', async () => {
  await stack.client.start(smallStory({ shots: 1 }), { storyId: 'luma-400' });
  await waitForStage(stack, 'luma-400', 'awaiting-keyframe-review');
  const before = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  await setBalance(stack.emulator.origin, stack.lumaKey, 0);
  try {
    await stack.client.reviewKeyframes('luma-400', { approve: true });
    const result = await stack.client.result('luma-400');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/Insufficient credits/);
    const after = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
    expect(after.created).toBe(before.created);
    // One refused create: the activity did not retry it.
    expect((await getStats(stack.emulator.origin)).requests.byStatus['400']).toBe(1);
  } finally {
    await setBalance(stack.emulator.origin, stack.lumaKey, 100_000);
  }
});
