import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { createFalClient } from '@fal-ai/client';
import { createGenerationActivities } from '../../activities/generations';
import { isRefusal } from '../../common/failures';
import { getFalStats, setFaults } from '../../emulator/admin';
import { startFalEmulator, type RunningFalEmulator } from '../../emulator/fal';
import { createFalProvider, falUrl, withKey } from '../../providers/fal';
import { keyframePng, startTestServer, type TestServer } from './emulator/support';

// The generation activities over the fal provider and the fal face: the same paid-once rules as for Luma (a retried
// submit finds its request by the key in the START image URL, an attempt short of time never creates, twins are
// cancelled), with the SDK's own retries kept from ever sending a submit twice.

const KEY = 'fal-activities-key';
let fal: RunningFalEmulator;
let server: TestServer;
let activities: ReturnType<typeof createGenerationActivities>;

beforeAll(async () => {
  fal = await startFalEmulator({ port: 0, keys: [KEY], latencyMs: 200 });
  server = await startTestServer();
  server.serve('/a.png', await keyframePng(480, 270, 'warm'), 'image/png');
  server.serve('/b.png', await keyframePng(480, 270, 'cool'), 'image/png');
  const provider = createFalProvider({
    apiKey: KEY,
    baseUrl: fal.baseUrl,
    timings: { pollIntervalMs: 50, createTimeoutMs: 3000, listTimeoutMs: 2000 },
  });
  activities = createGenerationActivities({
    providers: { fal: provider },
    clockSkewMs: 60_000,
    providerUrl: async (u) => u,
  });
});
afterAll(async () => {
  await fal?.close();
  await server?.close();
});
afterEach(async () => {
  await setFaults(fal.origin, {});
});

function info(extra: { attempt?: number } = {}) {
  return { startToCloseTimeoutMs: 180_000, scheduledTimestampMs: Date.now(), ...extra };
}

function within<T>(env: MockActivityEnvironment, fn: () => Promise<T>): Promise<T> {
  return env.run(fn) as Promise<T>;
}

const clip = (key: string, model: 'kling-2.5-turbo-pro' | 'veo-3.1-fast' = 'kling-2.5-turbo-pro') => ({
  key,
  sinceMs: Date.now() - 1000,
  prompt: 'a hand lifts the phone',
  model,
  aspectRatio: '16:9' as const,
  resolution: '720p' as const,
  durationSeconds: model === 'kling-2.5-turbo-pro' ? 5 : 4,
  frame0Url: `${server.origin}/a.png`,
  frame1Url: `${server.origin}/b.png`,
});

const ledgerOf = async (key: string) => (await getFalStats(fal.origin)).keys[KEY].ledger[key];

test('a clip is submitted with the key in its START image URL and polled to completion, heartbeating', async () => {
  const env = new MockActivityEnvironment(info());
  const beats: unknown[] = [];
  env.on('heartbeat', (d) => beats.push(d));
  const submitted = await within(env, () => activities.submitVideoGeneration(clip('f/1')));
  const stats = await getFalStats(fal.origin);
  const request = stats.keys[KEY].generations.find((g) => g.id === submitted.generationId)!;
  expect(request.json_input).toMatchObject({
    image_url: withKey(`${server.origin}/a.png`, 'f/1'),
    tail_image_url: `${server.origin}/b.png`,
    duration: '5',
  });
  const done = await within(env, () =>
    activities.pollGeneration({ generationId: submitted.generationId, model: 'kling-2.5-turbo-pro', windowMs: 20_000 })
  );
  expect(done.state).toBe('completed');
  expect(done.assetUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\//);
  expect(beats).toContainEqual({ state: 'dreaming' });
  expect(await ledgerOf('f/1')).toMatchObject({ billed: 1, netCents: 35 });
}, 60_000);

test('a submit whose answer was lost is found by the next attempt; the SDK never sent it twice', async () => {
  const before = (await getFalStats(fal.origin)).keys[KEY].created;
  await setFaults(fal.origin, { dropNext: 1 });
  await expect(
    within(new MockActivityEnvironment(info()), () => activities.submitVideoGeneration(clip('f/lost')))
  ).rejects.toThrow();
  expect((await getFalStats(fal.origin)).keys[KEY].created).toBe(before + 1);
  const retried = await within(new MockActivityEnvironment(info({ attempt: 2 })), () =>
    activities.submitVideoGeneration(clip('f/lost'))
  );
  expect(retried.reused).toBe(true);
  expect((await ledgerOf('f/lost')).generationIds).toEqual([retried.generationId]);
  expect((await getFalStats(fal.origin)).keys[KEY].created).toBe(before + 1);
});

test('a 5xx or a 429 on a submit reaches fal once per attempt (the SDK does not retry it)', async () => {
  const before = await getFalStats(fal.origin);
  await setFaults(fal.origin, { serverErrorNext: 1, serverErrorStatus: 503 });
  await expect(
    within(new MockActivityEnvironment(info()), () => activities.submitVideoGeneration(clip('f/5xx')))
  ).rejects.toThrow();
  await setFaults(fal.origin, { rateLimitNext: 1 });
  await expect(
    within(new MockActivityEnvironment(info()), () => activities.submitVideoGeneration(clip('f/429')))
  ).rejects.toMatchObject({ type: 'RateLimited' });
  const after = await getFalStats(fal.origin);
  expect((after.requests.byStatus['503'] ?? 0) - (before.requests.byStatus['503'] ?? 0)).toBe(1);
  expect((after.requests.byStatus['429'] ?? 0) - (before.requests.byStatus['429'] ?? 0)).toBe(1);
  expect(after.keys[KEY].created).toBe(before.keys[KEY].created);
});

test('after a submit, a twin of the same key is found: the older kept, ours cancelled and not charged', async () => {
  const key = 'f/twin';
  const raw = createFalClient({
    credentials: KEY,
    requestMiddleware: async (r) => ({ ...r, url: falUrl(r.url, fal.baseUrl) }),
  });
  const endpoint: string = 'fal-ai/kling-video/v2.5-turbo/pro/image-to-video';
  await setFaults(fal.origin, { extraDreamingMs: 2000 });
  const twin = await raw.queue.submit(endpoint, {
    input: { prompt: 'twin', image_url: withKey(`${server.origin}/a.png`, key), duration: '5' },
  });
  const ours = await within(new MockActivityEnvironment(info()), () => activities.submitVideoGeneration(clip(key)));
  expect(ours.generationId).toBe(twin.request_id);
  expect(ours.reused).toBe(true);
  expect(ours.duplicates).toHaveLength(1);
  expect(ours.unbilledDuplicates).toEqual(ours.duplicates);
  await within(new MockActivityEnvironment(info()), () =>
    activities.pollGeneration({ generationId: ours.generationId, model: 'kling-2.5-turbo-pro', windowMs: 20_000 })
  );
  expect(await ledgerOf(key)).toMatchObject({ billed: 1, deleted: 1 });
}, 60_000);

test('an attempt without time left for a whole submit gives up before submitting', async () => {
  const before = (await getFalStats(fal.origin)).keys[KEY].created;
  const short = new MockActivityEnvironment({ ...info({ attempt: 2 }), startToCloseTimeoutMs: 4000 });
  await expect(within(short, () => activities.submitVideoGeneration(clip('f/late')))).rejects.toThrow(
    /not enough time left in this attempt/
  );
  expect((await getFalStats(fal.origin)).keys[KEY].created).toBe(before);
});

test('a cancelled submit stops its request at once', async () => {
  await setFaults(fal.origin, { slowCreateRate: 1, slowCreateMs: 10_000 });
  const env = new MockActivityEnvironment(info());
  const started = Date.now();
  const submitting = within(env, () => activities.submitVideoGeneration(clip('f/cancel')));
  setTimeout(() => env.cancel(), 300);
  await expect(submitting).rejects.toBeInstanceOf(CancelledFailure);
  expect(Date.now() - started).toBeLessThan(3000);
});

test('a sweep finds every key under a prefix, stops those in flight, and knows their price', async () => {
  await setFaults(fal.origin, { extraDreamingMs: 30_000 });
  const a = await within(new MockActivityEnvironment(info()), () =>
    activities.submitVideoGeneration(clip('sw/run/shot/1/a1'))
  );
  const b = await within(new MockActivityEnvironment(info()), () =>
    activities.submitVideoGeneration(clip('sw/run/shot/2/a1', 'veo-3.1-fast'))
  );
  await within(new MockActivityEnvironment(info()), () => activities.submitVideoGeneration(clip('sw/other/shot/1/a1')));
  const swept = await within(new MockActivityEnvironment(info()), () =>
    activities.sweepGenerations({ keyPrefix: 'sw/run', sinceMs: Date.now() - 60_000, targets: [{ provider: 'fal' }] })
  );
  expect(swept.map((s) => s.generationId).sort()).toEqual([a.generationId, b.generationId].sort());
  expect(swept.every((s) => s.state === 'deleted' && s.provider === 'fal')).toBe(true);
  expect(swept.find((s) => s.generationId === b.generationId)!.price).toMatchObject({
    model: 'veo-3.1-fast',
    durationSeconds: 4,
    resolution: '720p',
  });
  expect(await ledgerOf('sw/run/shot/1/a1')).toMatchObject({ billed: 0, deleted: 1 });
});

test('a content refusal ends the generation failed with a reason the workflows read as a refusal', async () => {
  await setFaults(fal.origin, { failNext: 1, failureReason: 'The content was flagged by a content checker.' });
  const submitted = await within(new MockActivityEnvironment(info()), () =>
    activities.submitVideoGeneration(clip('f/refused'))
  );
  const done = await within(new MockActivityEnvironment(info()), () =>
    activities.pollGeneration({ generationId: submitted.generationId, model: 'kling-2.5-turbo-pro', windowMs: 20_000 })
  );
  expect(done.state).toBe('failed');
  expect(isRefusal(done.failureReason)).toBe(true);
  expect(await ledgerOf('f/refused')).toMatchObject({ billed: 0 });
});
