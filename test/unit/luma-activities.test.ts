import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import LumaAI from 'lumaai';
import { createLumaActivities } from '../../activities/luma';
import { startEmulator } from '../../emulator';
import { getStats } from '../../emulator/admin';

const KEY = 'activity-test-key';
let emulator: Awaited<ReturnType<typeof startEmulator>>;
let activities: ReturnType<typeof createLumaActivities>;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, keys: [KEY], imageLatencyMs: 300 });
  activities = createLumaActivities({
    luma: new LumaAI({ authToken: KEY, baseURL: emulator.baseUrl, maxRetries: 0 }),
    // Nobody listens there: callbacks are hints, and their failure must not matter.
    callbackBaseUrl: 'http://127.0.0.1:9',
    pollIntervalMs: 50,
    createTimeoutMs: 5000,
    clockSkewMs: 60_000,
  });
});
afterAll(async () => {
  await emulator?.close();
});

/** Runs `fn` in the mock activity context, keeping its return type. */
function within<T>(env: MockActivityEnvironment, fn: () => Promise<T>): Promise<T> {
  return env.run(fn) as Promise<T>;
}

const image = (key: string) => ({
  key,
  prompt: 'a red ball on a table',
  model: 'photon-flash-1' as const,
  aspectRatio: '16:9' as const,
});

test('awaitGeneration heartbeats while it polls and returns the asset URL', async () => {
  const env = new MockActivityEnvironment();
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details) => heartbeats.push(details));
  const { generationId } = await within(env, () => activities.submitImageGeneration(image('s/kf/0')));
  const done = await within(env, () => activities.awaitGeneration({ generationId }));
  expect(done.state).toBe('completed');
  expect(done.assetUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  expect(heartbeats.length).toBeGreaterThan(1);
  expect(heartbeats).toContainEqual({ state: 'dreaming' });
});

test('a retried submit (attempt 2) reuses the generation its first attempt created instead of paying again', async () => {
  const first = await within(new MockActivityEnvironment({ attempt: 1 }), () =>
    activities.submitImageGeneration(image('s/kf/1'))
  );
  const before = (await getStats(emulator.origin)).keys[KEY];
  const retried = await within(new MockActivityEnvironment({ attempt: 2 }), () =>
    activities.submitImageGeneration(image('s/kf/1'))
  );
  expect(retried).toEqual({ generationId: first.generationId, reused: true });
  const after = (await getStats(emulator.origin)).keys[KEY];
  expect(after.created).toBe(before.created);
  // Another key (another attempt of the workflow) is a new generation.
  const other = await within(new MockActivityEnvironment({ attempt: 2 }), () =>
    activities.submitImageGeneration(image('s/kf/2'))
  );
  expect(other.reused).toBe(false);
});

test('cancelling awaitGeneration stops the polling with a cancellation', async () => {
  const env = new MockActivityEnvironment();
  const { generationId } = await within(env, () => activities.submitImageGeneration(image('s/kf/3')));
  const waiting = within(env, () => activities.awaitGeneration({ generationId }));
  setTimeout(() => env.cancel(), 30);
  await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
});
