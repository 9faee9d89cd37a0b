import { temporal } from '@temporalio/proto';
import { ReelflowError } from '../../client/reelflow-client';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  // Continue-as-new from 40 events instead of 4000, so a few review rounds show it.
  stack = await startTestStack({
    env: { REELFLOW_CONTINUE_AS_NEW_EVENTS: '40' },
    emulator: { imageLatencyMs: 50 },
  });
});
afterAll(async () => {
  await stack?.close();
});

async function historyOf(workflowId: string, runId?: string) {
  const history = await stack.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const bytes = temporal.api.history.v1.History.encode(history).finish().length;
  const updateAnswers = events
    .filter((e) => e.workflowExecutionUpdateCompletedEventAttributes)
    .map(
      (e) =>
        temporal.api.update.v1.Outcome.encode(e.workflowExecutionUpdateCompletedEventAttributes!.outcome!).finish()
          .length
    );
  return { events: events.length, bytes, updateAnswers };
}

async function runsOf(id: string) {
  const runs: Array<{ runId: string; status: string }> = [];
  for await (const wf of stack.temporal.workflow.list({ query: `WorkflowId = '${id}'` })) {
    runs.push({ runId: wf.runId, status: wf.status.name });
  }
  return runs;
}

const awaitingRound = (round: number) => (p: { stage: string; keyframes: Array<{ round: number }> }) =>
  p.stage === 'awaiting-keyframe-review' && p.keyframes.every((k) => k.round >= round);

test('a 50-shot story through review rounds keeps a small history: small review answers, rounds capped', async () => {
  const id = 'fifty-shots';
  const story = smallStory({ shots: 50, variations: 1, review: { keyframes: true, maxRounds: 3, timeout: '2d' } });
  await stack.client.start(story, { storyId: id });
  await waitForStage(stack, id, 'awaiting-keyframe-review', 180_000);
  const everyBoundary = Array.from({ length: 51 }, (_, b) => ({ boundary: b }));
  for (const round of [2, 3]) {
    const ack = await stack.client.reviewKeyframes(id, { regenerate: everyBoundary });
    expect(ack).toMatchObject({ what: 'keyframes', duplicate: false });
    await waitForStage(stack, id, awaitingRound(round), 180_000);
  }
  // The cap: a fourth round is refused, naming the field and the setting.
  const refused = await stack.client.reviewKeyframes(id, { regenerate: [{ boundary: 7 }] }).catch((e) => e);
  expect(refused).toBeInstanceOf(ReelflowError);
  expect(refused.message).toMatch(/regenerate\[0\]\.boundary: boundary 7 has had its 3 rounds \(review\.maxRounds\)/);
  await stack.client.reviewKeyframes(id, { picks: [{ boundary: 3, variation: 1 }] });

  const progress = await stack.client.progress(id);
  expect(progress.keyframes.every((k) => k.variations.length === 3)).toBe(true);
  // Every run of the story together: well inside Temporal's 51,200 events and 50 MB.
  const runs = await runsOf(id);
  let events = 0;
  let bytes = 0;
  const answers: number[] = [];
  for (const run of runs) {
    const h = await historyOf(id, run.runId);
    events += h.events;
    bytes += h.bytes;
    answers.push(...h.updateAnswers);
  }
  expect(events).toBeLessThan(600);
  expect(bytes).toBeLessThan(1024 * 1024);
  // A review's answer is an acknowledgement (a few hundred bytes), not the 50-shot progress.
  expect(answers.length).toBeGreaterThanOrEqual(3);
  for (const size of answers) expect(size).toBeLessThan(1024);
  // Each round's images live in a child workflow's history of their own, also bounded.
  for (const round of [1, 2, 3]) expect((await historyOf(`${id}-keyframes-${round}`)).events).toBeLessThan(2000);
  await stack.client.cancel(id);
}, 600_000);

test('a story waiting through rounds continues as new, keeps its state, applies a retried update once, and finishes', async () => {
  const id = 'continued';
  await stack.client.start(smallStory({ shots: 1, variations: 1 }), { storyId: id });
  await waitForStage(stack, id, 'awaiting-keyframe-review');
  const regenerate = async (round: number) => {
    await stack.client.reviewKeyframes(id, { regenerate: [{ boundary: 0 }, { boundary: 1 }] });
    await waitForStage(stack, id, awaitingRound(round));
  };
  await regenerate(2);
  await regenerate(3);
  const picked = await stack.client.reviewKeyframes(
    id,
    { picks: [{ boundary: 0, variation: 1 }] },
    { updateId: 'pick-b0' }
  );
  expect(picked.duplicate).toBe(false);
  const continuedBefore = (await runsOf(id)).filter((r) => r.status === 'CONTINUED_AS_NEW').length;
  await regenerate(4);
  await regenerate(5);
  const runs = await runsOf(id);
  expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length).toBeGreaterThan(continuedBefore);

  // The pick's answer was lost; the client retries it in a later run of the story: applied once, not again.
  const retried = await stack.client.reviewKeyframes(
    id,
    { picks: [{ boundary: 0, variation: 3 }] },
    { updateId: 'pick-b0' }
  );
  expect(retried.duplicate).toBe(true);
  const progress = await stack.client.progress(id);
  expect(progress.keyframes[0].variations).toHaveLength(5);
  expect(progress.keyframes[0].picked).toBe(1);
  await stack.client.reviewKeyframes(id, { approve: true });
  const result = await stack.client.result(id);
  expect(result.status).toBe('completed');
  expect(result.keyframes[0]).toMatchObject({ picked: 1 });
  expect(result.keyframes[0].images).toHaveLength(5);
});
