import LumaAI from 'lumaai';
import { startEmulator, type RunningEmulator } from '../../../emulator';
import { getStats, setFaults } from '../../../emulator/admin';
import { detailOf, lumaClient, probeVideo, rejection, settle, download } from './support';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';

// The limits Luma enforces per model family, the ledger that never forgets a billed generation, and the faults
// that make list and create calls slow.

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({
    port: 0,
    keys: ['family-key', 'minute-key', 'ledger-key', 'slow-key', 'cause-key'],
    concurrency: 1,
    imageConcurrency: 2,
    createsPerMinute: 3,
    imageCreatesPerMinute: 100,
    latencyMs: 100,
    imageLatencyMs: 100,
  });
});
afterAll(async () => {
  await setFaults(emulator.origin, {});
  await emulator.close();
});

const image = (client: LumaAI, prompt: string) => client.generations.image.create({ prompt, model: 'photon-flash-1' });
const video = (client: LumaAI, prompt: string, callback?: string) =>
  client.generations.video.create({
    prompt,
    model: 'ray-2',
    resolution: '540p',
    ...(callback && { callback_url: callback }),
  });

test('in-flight limits are per model family: full images leave video room, and the other way round', async () => {
  const client = lumaClient(emulator.baseUrl, 'family-key');
  await setFaults(emulator.origin, { extraDreamingMs: 1500 });
  const images = await Promise.all([image(client, 'first picture'), image(client, 'second picture')]);
  const third = await rejection(image(client, 'third picture'));
  expect(third).toBeInstanceOf(LumaAI.RateLimitError);
  expect(detailOf(third)).toMatch(/image generations in flight: 2 of 2/);
  const clip = await video(client, 'a clip still fits');
  const secondClip = await rejection(video(client, 'but not two'));
  expect(detailOf(secondClip)).toMatch(/video generations in flight: 1 of 1/);
  await setFaults(emulator.origin, {});
  const stats = (await getStats(emulator.origin)).keys['family-key'];
  expect(stats.families.image).toMatchObject({ created: 2, maxInFlight: 2 });
  expect(stats.families.video).toMatchObject({ created: 1, maxInFlight: 1 });
  expect(stats.rateLimited).toEqual({ injected: 0, inFlight: 2, perMinute: 0 });
  await Promise.all([...images, clip].map((g) => settle(client, g.id!)));
});

test('past the creates-per-minute limit a create is 429 with a retry-after, and nothing is billed', async () => {
  const client = lumaClient(emulator.baseUrl, 'minute-key');
  // The window opens with the first create; how long settling takes depends on the machine's load.
  const firstCreateAt = Date.now();
  for (const n of [1, 2, 3]) await settle(client, (await video(client, `clip number ${n}`)).id!);
  const balance = (await client.credits.get()).credit_balance;
  const refusedAt = Date.now();
  const err = await rejection(video(client, 'clip number 4'));
  expect(err).toBeInstanceOf(LumaAI.RateLimitError);
  expect(detailOf(err)).toBe('Too many requests: 3 video creates in the last minute (limit 3 per minute)');
  const retryAfter = Number(err.headers?.['retry-after']);
  // The window frees 60 s after the first create: what is left of it, to the second.
  expect(retryAfter).toBeGreaterThanOrEqual(Math.floor(60 - (Date.now() - firstCreateAt) / 1000));
  expect(retryAfter).toBeLessThanOrEqual(Math.ceil(60 - (refusedAt - firstCreateAt) / 1000) + 1);
  expect((await client.credits.get()).credit_balance).toBe(balance);
  // Images have a window of their own.
  await settle(client, (await image(client, 'an image is still fine')).id!);
  expect((await getStats(emulator.origin)).keys['minute-key'].rateLimited.perMinute).toBe(1);
});

test('429s are counted by cause: injected ones apart from those of the limits, so a test can tell them apart', async () => {
  const client = lumaClient(emulator.baseUrl, 'cause-key');
  const before = (await getStats(emulator.origin)).requests.byStatus['429'] ?? 0;
  await setFaults(emulator.origin, { rateLimitNext: 2, extraDreamingMs: 1500 });
  for (const n of [1, 2]) {
    const injected = await rejection(video(client, `injected ${n}`));
    expect(detailOf(injected)).toBe('Too many requests (injected by the emulator)');
  }
  const first = await video(client, 'takes the one video slot');
  // The key's video cap is 1: this one is the limit's 429, not an injected one.
  const limited = await rejection(video(client, 'over the cap'));
  expect(detailOf(limited)).toMatch(/video generations in flight: 1 of 1/);
  await setFaults(emulator.origin, {});
  const stats = await getStats(emulator.origin);
  expect(stats.keys['cause-key'].rateLimited).toEqual({ injected: 2, inFlight: 1, perMinute: 0 });
  expect(stats.requests.byStatus['429']).toBe(before + 3);
  await settle(client, first.id!);
});

test('the ledger keeps deleted generations and groups every generation by its idempotency key', async () => {
  const client = lumaClient(emulator.baseUrl, 'ledger-key');
  const hook = (key: string) => `http://127.0.0.1:9/callback?key=${encodeURIComponent(key)}`;
  await setFaults(emulator.origin, { extraDreamingMs: 2000 });
  const stopped = await video(client, 'a clip that gets deleted', hook('story-1/run/shot/1/a1'));
  await client.generations.delete(stopped.id!);
  await setFaults(emulator.origin, { failNext: 1 });
  const failed = await video(client, 'a clip that fails', hook('story-1/run/shot/2/a1'));
  await settle(client, failed.id!);
  await setFaults(emulator.origin, {});
  const unkeyed = await image(client, 'no callback, no key');
  await settle(client, unkeyed.id!);
  const keyed = await client.generations.image.create({
    prompt: 'keyed',
    model: 'photon-flash-1',
    callback_url: hook('k/2'),
  });
  await settle(client, keyed.id!);

  const gone = await rejection(client.generations.get(stopped.id!));
  expect(gone).toBeInstanceOf(LumaAI.NotFoundError);
  expect((await client.generations.list({ limit: 100 })).generations.map((g) => g.id)).not.toContain(stopped.id);
  const stats = (await getStats(emulator.origin)).keys['ledger-key'];
  expect(stats.generations.find((g) => g.id === stopped.id)).toMatchObject({ deleted: true, refunded: false });
  expect(stats.ledger['story-1/run/shot/1/a1']).toEqual({
    billed: 1,
    netCents: 10, // a 5 s text-to-video clip: 2 credits at $0.05
    generationIds: [stopped.id],
    deleted: 1,
  });
  expect(stats.ledger['story-1/run/shot/2/a1']).toMatchObject({ billed: 1, netCents: 0 });
  expect(stats.ledger['k/2']).toMatchObject({ billed: 1 });
  // Without a callback URL there is no key to group by.
  expect(Object.values(stats.ledger).flatMap((e) => e.generationIds)).not.toContain(unkeyed.id);
});

test('slowListNext makes the next list outlast a short client timeout; the one after answers at once', async () => {
  const client = lumaClient(emulator.baseUrl, 'slow-key');
  await setFaults(emulator.origin, { slowListNext: 1 });
  const started = Date.now();
  const err = await rejection(client.generations.list({ limit: 10 }, { timeout: 500, maxRetries: 0 }));
  expect(err).toBeInstanceOf(LumaAI.APIConnectionTimeoutError);
  expect(Date.now() - started).toBeLessThan(3000);
  const page = await client.generations.list({ limit: 10 }, { timeout: 500, maxRetries: 0 });
  expect(page.generations).toBeDefined();
});

test('slowCreateRate records and bills a create before its slow answer; badClipNext makes a clip of the wrong size', async () => {
  const client = lumaClient(emulator.baseUrl, 'slow-key');
  await setFaults(emulator.origin, { slowCreateRate: 1, slowCreateMs: 3000, badClipNext: 1 });
  const create = client.generations.video.create(
    { prompt: 'a slow answer', model: 'ray-2', resolution: '540p', callback_url: 'http://127.0.0.1:9/cb?key=slow/1' },
    { timeout: 500, maxRetries: 0 }
  );
  expect(await rejection(create)).toBeInstanceOf(LumaAI.APIConnectionTimeoutError);
  await setFaults(emulator.origin, {});
  const ledger = (await getStats(emulator.origin)).keys['slow-key'].ledger['slow/1'];
  expect(ledger.billed).toBe(1);
  const done = await settle(client, ledger.generationIds[0]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'emulator-badclip-'));
  try {
    const file = path.join(dir, 'clip.mp4');
    await download(done.assets!.video!, file);
    const probe = await probeVideo(file);
    expect([probe.width, probe.height]).toEqual([480, 270]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
