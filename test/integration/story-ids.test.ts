import { ReelflowError } from '../../client/reelflow-client';
import { getStats } from '../../emulator/admin';
import { smallStory } from '../helpers/stories';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const quick = () => smallStory({ shots: 1, review: { keyframes: false }, transition: { crossfade: 0 } });
const created = async () => (await getStats(stack.emulator.origin)).keys[stack.lumaKey].created;
const runsOf = async (id: string) => {
  const runs: string[] = [];
  for await (const wf of stack.temporal.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.runId);
  return runs;
};

test('the id of a finished story is refused with conflict, and nothing is paid again', async () => {
  await stack.client.start(quick(), { storyId: 'once-only' });
  const first = await stack.client.result('once-only');
  expect(first.status).toBe('completed');
  // Files live under the run, so even a story id reused after Temporal forgot it could not overwrite them.
  expect(first.video).toMatch(/\/once-only\/run-[0-9a-f]{8}\/output\/story\.mp4$/);
  const before = await created();

  const again = await stack.client.start(quick(), { storyId: 'once-only' }).catch((e) => e);
  expect(again).toBeInstanceOf(ReelflowError);
  expect(again.code).toBe('conflict');
  expect(again.message).toMatch(/already exists; story ids are never reused/);
  expect(await created()).toBe(before);
  expect(await runsOf('once-only')).toHaveLength(1);
});

test('an HTTP Idempotency-Key retried after the story ended returns that same story, never a new paid run', async () => {
  const base = stack.config.http.publicUrl;
  const post = () =>
    fetch(`${base}/v1/stories`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'order-7731' },
      body: JSON.stringify(quick()),
    });
  const first = await post();
  expect(first.status).toBe(201);
  const { id } = (await first.json()) as { id: string };
  expect((await stack.client.result(id)).status).toBe('completed');
  const before = await created();

  const retry = await post();
  expect(retry.status).toBe(200);
  expect(((await retry.json()) as { id: string }).id).toBe(id);
  expect(await created()).toBe(before);
  expect(await runsOf(id)).toHaveLength(1);
});
