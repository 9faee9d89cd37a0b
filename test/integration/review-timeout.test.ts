import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkipping } from '../helpers/time-skipping';
import { smallStory } from '../helpers/stories';
import { quietRuntime, startTestStack, type TestStack } from '../helpers/stack';

let env: TestWorkflowEnvironment;
let stack: TestStack;

beforeAll(async () => {
  quietRuntime();
  env = await startTimeSkipping();
  stack = await startTestStack({
    temporal: { client: env.client, nativeConnection: env.nativeConnection, address: 'time-skipping' },
  });
});
afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

test('nobody reviewing the keyframes for 72 hours fails the story with a clear reason, keeping its keyframes', async () => {
  await stack.client.start(smallStory({ shots: 1, review: { timeout: '72h', onTimeout: 'fail' } }), {
    storyId: 'review-timeout-fail',
  });
  // Awaiting the result lets the test server skip the 72 hours of waiting.
  const result = await stack.client.result('review-timeout-fail');
  expect(result.status).toBe('failed');
  expect(result.error).toBe('nobody reviewed the keyframes within 72h');
  expect(result.keyframes.flatMap((k) => k.images)).toHaveLength(2);
  expect(result.shots[0].attempts).toBe(0);
});

test('with onTimeout: approve, the story goes on with the current picks after the timeout', async () => {
  await stack.client.start(smallStory({ shots: 1, review: { timeout: '48h', onTimeout: 'approve' } }), {
    storyId: 'review-timeout-approve',
  });
  const result = await stack.client.result('review-timeout-approve');
  expect(result.status).toBe('completed');
  expect(result.shots[0].attempts).toBe(1);
});
