import { ReelflowError } from '../../client/reelflow-client';
import { getStats } from '../../emulator/admin';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const images = async () =>
  (await getStats(stack.emulator.origin)).keys[stack.lumaKey].generations.filter((g) => g.generation_type === 'image')
    .length;

test('a review retried with the same Idempotency-Key is applied once: one regeneration, paid once', async () => {
  await stack.client.start(smallStory({ shots: 1, variations: 1 }), { storyId: 'retried-review' });
  await waitForStage(stack, 'retried-review', 'awaiting-keyframe-review');
  const before = await images();
  const post = () =>
    fetch(`${stack.config.http.publicUrl}/v1/stories/retried-review/keyframes/review`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'review-b1-night' },
      body: JSON.stringify({ regenerate: [{ boundary: 1, prompt: 'the same room at night' }] }),
    });
  const first = await post();
  expect(first.status).toBe(200);
  // The answer is lost and the client retries, once at once and once after the new round is ready.
  const retried = await post();
  expect(retried.status).toBe(200);
  await waitForStage(
    stack,
    'retried-review',
    (p) => p.stage === 'awaiting-keyframe-review' && p.keyframes[1].variations.length === 2
  );
  const late = await post();
  expect(late.status).toBe(200);
  const progress = await stack.client.progress('retried-review');
  expect(progress.keyframes[1].round).toBe(2);
  expect(progress.keyframes[1].variations).toHaveLength(2);
  expect(await images()).toBe(before + 1);
  await stack.client.cancel('retried-review');
});

test('a review sent after the story failed is refused, saying how it ended', async () => {
  // The estimate (2 images + 1 clip) is over this budget: the story fails before it spends anything.
  await stack.client.start(smallStory({ shots: 1, budgetCredits: 1 }), { storyId: 'failed-then-reviewed' });
  expect((await stack.client.result('failed-then-reviewed')).status).toBe('failed');
  const refused = await stack.client.reviewKeyframes('failed-then-reviewed', { approve: true }).catch((e) => e);
  expect(refused).toBeInstanceOf(ReelflowError);
  expect(refused.code).toBe('conflict');
  expect(refused.message).toBe(`story 'failed-then-reviewed' has already ended (failed); it waits for nothing`);
});

test('a review of a stage the story has moved past is refused; a clip review of a shot not waiting is refused', async () => {
  await stack.client.start(smallStory({ shots: 1, review: { keyframes: true, clips: true } }), {
    storyId: 'moved-on',
  });
  await waitForStage(stack, 'moved-on', 'awaiting-keyframe-review');
  const early = await stack.client.reviewShot('moved-on', { shot: 0, decision: 'approve' }).catch((e) => e);
  expect(early.code).toBe('conflict');
  expect(early.message).toMatch(/shot 1 is 'pending', not waiting for a review/);
  await stack.client.reviewKeyframes('moved-on', { approve: true });
  const late = await stack.client.reviewKeyframes('moved-on', { approve: true }).catch((e) => e);
  expect(late.code).toBe('conflict');
  expect(late.message).toMatch(/not waiting for a keyframe review/);
  await waitForStage(stack, 'moved-on', 'shot-review');
  const ack = await stack.client.reviewShot('moved-on', { shot: 0, decision: 'approve' }, { updateId: 'approve-1' });
  expect(ack).toMatchObject({ what: 'shot', shot: 0, duplicate: false });
  // The same update id again (a lost answer) gets the same answer, not a refusal.
  const again = await stack.client.reviewShot('moved-on', { shot: 0, decision: 'approve' }, { updateId: 'approve-1' });
  expect(again).toMatchObject({ what: 'shot', shot: 0 });
  expect((await stack.client.result('moved-on')).status).toBe('completed');
});
