import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import LumaAI from 'lumaai';
import { createGenerationActivities } from '../../activities/generations';
import { createLumaProvider } from '../../providers/luma';
import { startEmulator } from '../../emulator';
import { getStats, setFaults } from '../../emulator/admin';

const KEY = 'activity-test-key';
let emulator: Awaited<ReturnType<typeof startEmulator>>;
let activities: ReturnType<typeof createGenerationActivities>;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, keys: [KEY], imageLatencyMs: 300 });
  const luma = createLumaProvider({
    luma: new LumaAI({ authToken: KEY, baseURL: emulator.baseUrl, maxRetries: 0 }),
    // Nobody listens there: callbacks are hints, and their failure must not matter.
    callbackBaseUrl: 'http://127.0.0.1:9',
    timings: { pollIntervalMs: 50, createTimeoutMs: 5000, listTimeoutMs: 2000 },
  });
  activities = createGenerationActivities({
    providers: { luma },
    clockSkewMs: 60_000,
    providerUrl: async (url) => url,
  });
});
afterAll(async () => {
  await emulator?.close();
});

/** Activity info of a real submit attempt: 3 minutes to run, scheduled just now. */
function info(extra: { attempt?: number } = {}) {
  return { startToCloseTimeoutMs: 180_000, scheduledTimestampMs: Date.now(), ...extra };
}

/** Runs `fn` in the mock activity context, keeping its return type. */
function within<T>(env: MockActivityEnvironment, fn: () => Promise<T>): Promise<T> {
  return env.run(fn) as Promise<T>;
}

const image = (key: string) => ({
  key,
  sinceMs: Date.now() - 1000,
  prompt: 'a red ball on a table',
  model: 'photon-flash-1' as const,
  aspectRatio: '16:9' as const,
});

test('pollGeneration heartbeats from its first moment while it polls and returns the asset URL', async () => {
  const env = new MockActivityEnvironment(info());
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details) => heartbeats.push(details));
  const { generationId } = await within(env, () => activities.submitImageGeneration(image('s/kf/0')));
  const done = await within(env, () => activities.pollGeneration({ generationId, windowMs: 10_000 }));
  expect(done.state).toBe('completed');
  expect(done.assetUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  expect(heartbeats.length).toBeGreaterThan(1);
  expect(heartbeats).toContainEqual({ state: 'dreaming' });
});

test('a retried submit (attempt 2) reuses the generation its first attempt created instead of paying again', async () => {
  const first = await within(new MockActivityEnvironment(info({ attempt: 1 })), () =>
    activities.submitImageGeneration(image('s/kf/1'))
  );
  const before = (await getStats(emulator.origin)).keys[KEY];
  const retried = await within(new MockActivityEnvironment(info({ attempt: 2 })), () =>
    activities.submitImageGeneration(image('s/kf/1'))
  );
  expect(retried).toEqual({ generationId: first.generationId, reused: true, duplicates: [] });
  const after = (await getStats(emulator.origin)).keys[KEY];
  expect(after.created).toBe(before.created);
  // Another key (another attempt of the workflow) is a new generation.
  const other = await within(new MockActivityEnvironment(info({ attempt: 2 })), () =>
    activities.submitImageGeneration(image('s/kf/2'))
  );
  expect(other.reused).toBe(false);
});

test('cancelling pollGeneration stops the polling with a cancellation', async () => {
  const env = new MockActivityEnvironment(info());
  const { generationId } = await within(env, () => activities.submitImageGeneration(image('s/kf/3')));
  const waiting = within(env, () => activities.pollGeneration({ generationId, windowMs: 10_000 }));
  setTimeout(() => env.cancel(), 30);
  await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
});

test('after a create, a second look finds a twin of the same key: the older is kept, ours deleted, both counted', async () => {
  const key = 's/twin/1';
  const callback = `http://127.0.0.1:9/v1/luma/callback?key=${encodeURIComponent(key)}`;
  // A twin attempt's create that landed although its attempt timed out.
  const luma = new LumaAI({ authToken: KEY, baseURL: emulator.baseUrl, maxRetries: 0 });
  const twin = await luma.generations.image.create({ prompt: 'twin', model: 'photon-flash-1', callback_url: callback });
  const ours = await within(new MockActivityEnvironment(info()), () => activities.submitImageGeneration(image(key)));
  expect(ours.generationId).toBe(twin.id);
  expect(ours.reused).toBe(true);
  expect(ours.duplicates).toHaveLength(1);
  const ledger = (await getStats(emulator.origin)).keys[KEY].ledger[key];
  expect(ledger).toMatchObject({ billed: 2, deleted: 1 });
  expect(ledger.generationIds).toEqual(expect.arrayContaining([twin.id, ...ours.duplicates]));
});

test('an attempt without time left for a whole create gives up before creating', async () => {
  const before = (await getStats(emulator.origin)).keys[KEY].created;
  const short = new MockActivityEnvironment({ ...info({ attempt: 2 }), startToCloseTimeoutMs: 4000 });
  await expect(within(short, () => activities.submitImageGeneration(image('s/late/1')))).rejects.toThrow(
    /not enough time left in this attempt to finish a create/
  );
  expect((await getStats(emulator.origin)).keys[KEY].created).toBe(before);
});

test('a cancelled submit stops its create request at once', async () => {
  await setFaults(emulator.origin, { slowCreateRate: 1, slowCreateMs: 10_000 });
  try {
    const env = new MockActivityEnvironment(info());
    const started = Date.now();
    const submitting = within(env, () => activities.submitImageGeneration(image('s/cancel/1')));
    setTimeout(() => env.cancel(), 300);
    await expect(submitting).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(3000);
  } finally {
    await setFaults(emulator.origin, {});
  }
});
