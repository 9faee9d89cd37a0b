import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failures';
import type { StoryResult } from '../../common/progress';
import { smallStory } from '../helpers/stories';
import { startFakeWorld, type FakeWorld } from './fake-world';

// Routing shots to providers and falling back, with fake activities on the time-skipping server: which model each
// attempt asks for, which provider account's gate it waits on, and when a shot moves to its fallback (and when not).

let world: FakeWorld;
beforeAll(async () => {
  world = await startFakeWorld();
}, 60_000);
afterEach(() => {
  world.fate = () => ({ state: 'completed' });
  world.outage = () => undefined;
});
afterAll(async () => {
  await world?.close();
});

const clipsOf = (storyId: string) =>
  world.calls.submits.filter((s) => s.kind === 'video' && s.key.startsWith(`${storyId}/`));
const noReview = { keyframes: false, clips: false, timeout: '1h', onTimeout: 'fail' } as const;

test('each shot goes to its own model and provider account; the result says which made each clip and what it cost', async () => {
  const gatesBefore = world.calls.gates.length;
  const story = smallStory({ shots: 2, review: noReview });
  story.shots[1] = { ...story.shots[1], videoModel: 'kling-2.5-turbo-pro' };
  const result = (await world.run(story, 'wf-two-providers')) as StoryResult;
  expect(result.status).toBe('completed');
  // Parallel shots submit in either order: match each create to its shot by its key.
  expect(
    clipsOf('wf-two-providers')
      .map((c) => [c.key.replace(/^.*\/shot\//, ''), c.model])
      .sort()
  ).toEqual([
    ['1/a1', 'ray-3-14'],
    ['2/a1', 'kling-2.5-turbo-pro'],
  ]);
  const gates = world.calls.gates.slice(gatesBefore);
  expect(gates.filter((g) => g.endsWith('-gate-fal'))).toHaveLength(1);
  expect(gates.filter((g) => g.endsWith('-gate-luma')).length).toBeGreaterThanOrEqual(2);
  expect(result.shots.map((s) => [s.provider, s.model])).toEqual([
    ['luma', 'ray-3-14'],
    ['fal', 'kling-2.5-turbo-pro'],
  ]);
  // 3 keyframes at 0.8 and a 3-credit Ray clip at Luma; a $0.35 Kling clip is 7 credits at $0.05.
  expect(result.byProvider).toEqual([
    { provider: 'luma', keyframeImages: 3, clips: 1, credits: 5.4, dollars: 0.27 },
    { provider: 'fal', keyframeImages: 0, clips: 1, credits: 7, dollars: 0.35 },
  ]);
  expect(result.credits).toBeCloseTo(12.4, 6);
  expect(result.shots[1].attemptDetails).toEqual([
    expect.objectContaining({
      attempt: 1,
      provider: 'fal',
      model: 'kling-2.5-turbo-pro',
      state: 'completed',
      credits: 7,
    }),
  ]);
});

test('a shot whose provider keeps failing the create moves to its fallback, after settling the failed key there', async () => {
  world.outage = (model) =>
    model === 'kling-2.5-turbo-pro'
      ? ApplicationFailure.create({
          type: FailureType.InsufficientCredits,
          message: 'fal: exhausted balance',
          nonRetryable: true,
        })
      : undefined;
  const story = smallStory({
    shots: 1,
    review: noReview,
    videoModel: 'kling-2.5-turbo-pro',
    fallbackVideoModel: 'ray-3-14',
  });
  const result = (await world.run(story, 'wf-fallback')) as StoryResult;
  expect(result.status).toBe('completed');
  expect(clipsOf('wf-fallback').map((c) => c.model)).toEqual(['ray-3-14']);
  const settled = world.calls.sweepInputs.find((s) => s.keyPrefix.startsWith('wf-fallback/'));
  expect(settled).toMatchObject({ keyPrefix: expect.stringMatching(/\/shot\/1\/a1$/), targets: [{ provider: 'fal' }] });
  expect(result.shots[0]).toMatchObject({ provider: 'luma', model: 'ray-3-14', attempts: 1 });
  expect(result.shots[0].attemptDetails).toEqual([
    expect.objectContaining({ attempt: 1, provider: 'fal', model: 'kling-2.5-turbo-pro', state: 'failed', credits: 0 }),
    expect.objectContaining({ attempt: 2, provider: 'luma', model: 'ray-3-14', state: 'completed', fallback: true }),
  ]);
});

test('a shot whose generations all fail at the provider (not a refusal) falls back once its attempts are used', async () => {
  world.fate = (key) =>
    key.startsWith('wf-failing/') && /\/shot\/1\/a[12]$/.test(key)
      ? { state: 'failed', reason: 'runner_server_error' }
      : { state: 'completed' };
  const story = smallStory({
    shots: 1,
    review: noReview,
    maxClipAttempts: 2,
    videoModel: 'kling-2.5-turbo-pro',
    fallbackVideoModel: 'ray-3-14',
  });
  const result = (await world.run(story, 'wf-failing')) as StoryResult;
  expect(result.status).toBe('completed');
  expect(clipsOf('wf-failing').map((c) => c.model)).toEqual(['kling-2.5-turbo-pro', 'kling-2.5-turbo-pro', 'ray-3-14']);
});

test('a content refusal never falls back: the same content would be refused elsewhere too', async () => {
  world.fate = (key) =>
    key.startsWith('wf-refused/') && key.includes('/shot/')
      ? { state: 'failed', reason: 'content_policy_violation: flagged by a content checker' }
      : { state: 'completed' };
  const story = smallStory({
    shots: 1,
    review: noReview,
    videoModel: 'kling-2.5-turbo-pro',
    fallbackVideoModel: 'ray-3-14',
  });
  const result = await world.run(story, 'wf-refused');
  expect(result).toBeInstanceOf(WorkflowFailedError);
  const cause = (result as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe(FailureType.ProviderRefused);
  expect(cause.message).toMatch(/^shot 1: fal refused the generation: content_policy_violation/);
  expect(clipsOf('wf-refused').map((c) => c.model)).toEqual(['kling-2.5-turbo-pro']);
});

test('without a fallback a provider failure fails the story, as before', async () => {
  world.outage = () =>
    ApplicationFailure.create({ type: FailureType.ProviderAuth, message: 'fal rejected the key', nonRetryable: true });
  const story = smallStory({ shots: 1, review: noReview, videoModel: 'kling-2.5-turbo-pro' });
  const result = await world.run(story, 'wf-no-fallback');
  expect(result).toBeInstanceOf(WorkflowFailedError);
  expect(((result as WorkflowFailedError).cause as ApplicationFailure).type).toBe(FailureType.ProviderAuth);
  // The story's sweep looks at Luma (keyframes) and at fal, where the shot was.
  const sweep = world.calls.sweepInputs.filter((s) => s.keyPrefix.startsWith('wf-no-fallback/')).at(-1);
  expect(sweep?.targets).toEqual([{ provider: 'luma' }, { provider: 'fal', models: ['kling-2.5-turbo-pro'] }]);
});
