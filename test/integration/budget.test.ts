import { setFaults } from '../../emulator/admin';
import { expectPaidOnceAndCounted, ledgerOf } from '../helpers/ledger';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

// No story pays past its budget: every paid attempt is checked against it first, and clips paid for but unusable
// (a failed check, a rejection) count. 2 keyframe images (0.8 each) and one start+end clip (3) make 4.6 credits.
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ env: { REELFLOW_MAX_RETRY_DELAY_MS: '200' } });
});
afterEach(async () => {
  await setFaults(stack.emulator.origin, {});
});
afterAll(async () => {
  await stack?.close();
});

async function toShots(storyId: string, story: ReturnType<typeof smallStory>) {
  await stack.client.start(story, { storyId });
  await waitForStage(stack, storyId, 'awaiting-keyframe-review');
  // The first clip comes back at the wrong size: paid for, unusable.
  await setFaults(stack.emulator.origin, { badClipNext: 1 });
  await stack.client.reviewKeyframes(storyId, { approve: true });
}

test('a paid clip that fails its check counts, and the retry that would pass the budget is refused', async () => {
  await toShots('budget-held', smallStory({ shots: 1, variations: 1, budgetCredits: 4.6 }));
  const result = await stack.client.result('budget-held');
  expect(result.status).toBe('failed');
  expect(result.error).toMatch(/^shot 1 attempt 2 needs 3 credits, but 4.6 of the budget of 4.6 credits are spent/);
  expect(result.credits).toBe(4.6);
  expect((await ledgerOf(stack, 'budget-held')).netCredits).toBe(4.6);
  await expectPaidOnceAndCounted(stack, result);
});

test('with onBudgetExceeded: wait, the story waits for a raised budget and then pays only what it said', async () => {
  const id = 'budget-wait';
  await toShots(id, smallStory({ shots: 1, variations: 1, budgetCredits: 4.6, onBudgetExceeded: 'wait' }));
  await waitForStage(stack, id, (p) => p.cost.waitingForBudget);
  await stack.client.raiseBudget(id, 8);
  const result = await stack.client.result(id);
  expect(result.status).toBe('completed');
  expect(result.shots[0].attempts).toBe(2);
  expect(result.credits).toBeCloseTo(7.6, 6);
  await expectPaidOnceAndCounted(stack, result);
});

test('a rejected clip counts as paid; the regenerated one too', async () => {
  const id = 'budget-rejected';
  await stack.client.start(smallStory({ shots: 1, variations: 1, review: { keyframes: false, clips: true } }), {
    storyId: id,
  });
  await waitForStage(stack, id, 'shot-review');
  await stack.client.reviewShot(id, { shot: 0, decision: 'reject', feedback: 'the light is too cold' });
  await waitForStage(stack, id, (p) => p.shots[0].state === 'awaiting-review' && p.shots[0].attempts.length === 2);
  await stack.client.reviewShot(id, { shot: 0, decision: 'approve' });
  const result = await stack.client.result(id);
  expect(result.status).toBe('completed');
  expect(result.credits).toBeCloseTo(7.6, 6);
  await expectPaidOnceAndCounted(stack, result);
});
