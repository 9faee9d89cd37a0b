import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failures';
import type { StoryProgress, StoryResult } from '../../common/progress';
import { smallStory } from '../helpers/stories';
import { progress, reviewKeyframes, reviewShot } from '../../workflows/messages';
import { startFakeWorld, type FakeWorld } from './fake-world';

// The story workflow's rules with fake activities on the time-skipping server: seconds per test.
let world: FakeWorld;
beforeAll(async () => {
  world = await startFakeWorld();
}, 60_000);
afterEach(() => {
  world.fate = () => ({ state: 'completed' });
});
afterAll(async () => {
  await world?.close();
});

type Handle = Parameters<NonNullable<Parameters<FakeWorld['run']>[2]>>[0];

/** Polls the progress query until `ready` says so (time does not pass while this waits). */
async function until(handle: Handle, ready: (p: StoryProgress) => boolean): Promise<StoryProgress> {
  for (let i = 0; i < 200; i++) {
    const p = (await handle.query(progress)) as StoryProgress;
    if (ready(p)) return p;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the story never got there');
}

function failureOf(result: StoryResult | Error): ApplicationFailure {
  expect(result).toBeInstanceOf(WorkflowFailedError);
  const cause = (result as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

test('a story whose estimate passes its budget fails before anything is submitted', async () => {
  const result = await world.run(smallStory({ shots: 2, budgetCredits: 1 }), 'wf-budget');
  const failure = failureOf(result);
  expect(failure.type).toBe(FailureType.BudgetExceeded);
  expect(failure.message).toMatch(/^the story \(estimate\) needs 8\.4 credits, but 0 of the budget of 1 credits/);
  expect(world.calls.submits.filter((s) => s.key.startsWith('wf-budget/'))).toEqual([]);
});

test('supplied inputs are checked first: a refused one fails the story naming the field, before budget or payment', async () => {
  const before = world.calls.order.length;
  // Over budget as well: the input check comes first, so the refusal names the input, not the budget.
  const story = smallStory({ shots: 2, budgetCredits: 1, keyframes: ['/in/bad.png', null, '/in/ok.png'] });
  const failure = failureOf(await world.run(story, 'wf-bad-input'));
  expect(failure.type).toBe(FailureType.BadInput);
  expect(failure.message).toBe('invalid story: keyframes[0]: refused');
  expect(world.calls.order.slice(before, before + 1)).toEqual(['checkSuppliedInputs']);
  expect(world.calls.submits.filter((s) => s.key.startsWith('wf-bad-input/'))).toEqual([]);
});

test('checked inputs are used as they are: no second fetch, and all keyframes supplied means no keyframe round', async () => {
  const before = { order: world.calls.order.length, ingested: world.calls.ingestedSupplied };
  const story = smallStory({
    shots: 2,
    keyframes: ['/in/a.png', 'https://cdn.test/b.png', '/in/c.png'],
    audio: { src: 'https://cdn.test/music.mp3' },
    review: { keyframes: false },
  });
  const result = (await world.run(story, 'wf-supplied')) as StoryResult;
  expect(result.status).toBe('completed');
  expect(world.calls.checked.slice(-4)).toEqual(['keyframes[0]', 'keyframes[1]', 'keyframes[2]', 'audio.src']);
  const order = world.calls.order.slice(before.order);
  expect(order[0]).toBe('checkSuppliedInputs');
  expect(order).not.toContain('submitImageGeneration');
  expect(world.calls.ingestedSupplied).toBe(before.ingested);
  expect(result.keyframes.map((k) => k.images[0])).toEqual([
    expect.stringMatching(/\/keyframes\/b0-supplied\.png$/),
    expect.stringMatching(/\/keyframes\/b1-supplied\.png$/),
    expect.stringMatching(/\/keyframes\/b2-supplied\.png$/),
  ]);
  expect(world.calls.renderAudio.at(-1)).toMatch(/\/input\/audio\.mp3$/);
  const clips = world.calls.submits.filter((s) => s.key.startsWith('wf-supplied/'));
  expect(clips.map((c) => c.frame0Url)).toEqual(
    expect.arrayContaining([expect.stringMatching(/b0-supplied\.png$/), expect.stringMatching(/b1-supplied\.png$/)])
  );
});

test('review rules: bad picks are refused naming the field, rounds are capped, approval starts the clips', async () => {
  const story = smallStory({ shots: 1, variations: 2, review: { keyframes: true, maxRounds: 2 } });
  const result = await world.run(story, 'wf-review', async (handle) => {
    await until(handle, (p) => p.stage === 'awaiting-keyframe-review');
    const bad = await handle
      .executeUpdate(reviewKeyframes, { args: [{ picks: [{ boundary: 9, variation: 0 }] }] })
      .catch((e) => e);
    expect(String(bad.cause?.message)).toMatch(/^picks\[0\]\.boundary: no boundary 9 \(this story has 0\.\.1\)/);
    await handle.executeUpdate(reviewKeyframes, { args: [{ regenerate: [{ boundary: 1, prompt: 'at night now' }] }] });
    await until(handle, (p) => p.stage === 'awaiting-keyframe-review' && p.keyframes[1].round === 2);
    const third = await handle
      .executeUpdate(reviewKeyframes, { args: [{ regenerate: [{ boundary: 1 }] }] })
      .catch((e) => e);
    expect(String(third.cause?.message)).toMatch(/boundary 1 has had its 2 rounds \(review\.maxRounds\)/);
    expect(world.calls.submits.filter((s) => s.key.startsWith('wf-review/') && s.kind === 'video')).toEqual([]);
    await handle.executeUpdate(reviewKeyframes, { args: [{ picks: [{ boundary: 1, variation: 3 }], approve: true }] });
  });
  expect((result as StoryResult).status).toBe('completed');
  expect((result as StoryResult).keyframes[1]).toMatchObject({ picked: 3 });
  const images = world.calls.submits.filter((s) => s.key.startsWith('wf-review/') && s.kind === 'image');
  expect(images.map((s) => s.prompt).at(-1)).toBe('at night now');
});

test('nobody reviewing for three days fails the story by the review timeout, without a clip', async () => {
  const result = await world.run(smallStory({ shots: 1, review: { timeout: '72h' } }), 'wf-timeout');
  const failure = failureOf(result);
  expect(failure.type).toBe(FailureType.ReviewTimedOut);
  expect(failure.message).toBe('nobody reviewed the keyframes within 72h');
});

test('a failed generation is tried again after a pause; a refused one fails the shot at once', async () => {
  world.fate = (key) =>
    key.endsWith('/shot/1/a1') ? { state: 'failed', reason: 'Prompt processing failed' } : { state: 'completed' };
  const retried = (await world.run(smallStory({ shots: 1, review: { keyframes: false } }), 'wf-retry')) as StoryResult;
  expect(retried.status).toBe('completed');
  expect(retried.shots[0].attempts).toBe(2);
  // The failed generation was refunded: only the second clip counts.
  expect(retried.credits).toBeCloseTo(2 * 0.8 + 3, 6);

  world.fate = (key) =>
    key.includes('/shot/') ? { state: 'failed', reason: 'Advanced prompt moderation failed' } : { state: 'completed' };
  const refused = failureOf(await world.run(smallStory({ shots: 1, review: { keyframes: false } }), 'wf-refused'));
  expect(refused.type).toBe(FailureType.ProviderRefused);
  expect(refused.message).toMatch(/^shot 1: Luma refused the generation: Advanced prompt moderation failed/);
  expect(world.calls.submits.filter((s) => s.key.startsWith('wf-refused/') && s.kind === 'video')).toHaveLength(1);
});

test('chained shots start from the last frame of the clip before; parallel shots from their keyframes', async () => {
  const chained = (await world.run(
    smallStory({ shots: 3, mode: 'chained', review: { keyframes: false } }),
    'wf-chained'
  )) as StoryResult;
  expect(chained.status).toBe('completed');
  const clips = world.calls.submits.filter((s) => s.key.startsWith('wf-chained/') && s.kind === 'video');
  expect(clips.map((c) => c.frame0Url)).toEqual([
    expect.stringMatching(/\/keyframes\/b0-v0\.png$/),
    expect.stringMatching(/\/frames\/shot-1-last\.png$/),
    expect.stringMatching(/\/frames\/shot-2-last\.png$/),
  ]);
  expect(world.calls.cuts.filter((c) => c.includes('wf-chained'))).toHaveLength(2);

  await world.run(smallStory({ shots: 3, review: { keyframes: false } }), 'wf-parallel');
  const parallel = world.calls.submits.filter((s) => s.key.startsWith('wf-parallel/') && s.kind === 'video');
  expect(parallel.map((c) => c.frame0Url?.match(/keyframes\/(b\d)-/)?.[1]).sort()).toEqual(['b0', 'b1', 'b2']);
  expect(world.calls.cuts.filter((c) => c.includes('wf-parallel'))).toEqual([]);
});

test('a rejected clip is made again with the reviewer note in its prompt; the stage shows who is waited for', async () => {
  const story = smallStory({ shots: 1, review: { keyframes: false, clips: true } });
  const result = await world.run(story, 'wf-clip-review', async (handle) => {
    await until(handle, (p) => p.stage === 'awaiting-clip-review');
    await handle.executeUpdate(reviewShot, { args: [{ shot: 0, decision: 'reject', feedback: 'warmer light' }] });
    await until(handle, (p) => p.stage === 'awaiting-clip-review' && p.shots[0].attempts.length === 2);
    await handle.executeUpdate(reviewShot, { args: [{ shot: 0, decision: 'approve' }] });
  });
  expect((result as StoryResult).status).toBe('completed');
  const clips = world.calls.submits.filter((s) => s.key.startsWith('wf-clip-review/') && s.kind === 'video');
  expect(clips).toHaveLength(2);
  expect(clips[1].prompt).toMatch(/Reviewer note: warmer light$/);
});
