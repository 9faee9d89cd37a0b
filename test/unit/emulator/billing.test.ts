import LumaAI from 'lumaai';
import { clearFaults, getStats, setFaults, startEmulator, type RunningEmulator } from '../../../emulator';
import { detailOf, lumaClient, rejection, settle, startTestServer, type TestServer } from './support';

let emulator: RunningEmulator;
let server: TestServer;

beforeAll(async () => {
  [emulator, server] = await Promise.all([
    startEmulator({ port: 0, keys: ['bill-key', 'cap-key', 'frames-key'], concurrency: 2, imageConcurrency: 2 }),
    startTestServer(),
  ]);
  server.serve('/not-a-picture.png', Buffer.from('this is text, not a PNG'), 'image/png');
});

afterAll(async () => {
  await Promise.all([emulator?.close(), server?.close()]);
});

afterEach(async () => {
  await clearFaults(emulator.origin);
});

describe('billing', () => {
  it('charges an image by the price table and keeps the charge when it completes', async () => {
    const client = lumaClient(emulator.baseUrl, 'bill-key');
    const before = (await client.credits.get()).credit_balance;
    const created = await client.generations.image.create({ prompt: 'a red kite in the wind', model: 'photon-1' });
    // photon-1 is 0.8 credits at $0.05: 4 cents.
    expect((await client.credits.get()).credit_balance).toBe(before - 4);
    expect((await settle(client, created.id!)).state).toBe('completed');
    expect((await client.credits.get()).credit_balance).toBe(before - 4);
  });

  it('refunds a generation that fails', async () => {
    const client = lumaClient(emulator.baseUrl, 'bill-key');
    const before = (await client.credits.get()).credit_balance;
    await setFaults(emulator.origin, { failNext: 1, failureReason: 'Frame moderation failed' });
    const created = await client.generations.create({ prompt: 'a storm over the sea', model: 'ray-2', duration: '9s' });
    // Text to video at 720p: 2 credits per started 5 s, two of them: 20 cents.
    expect((await client.credits.get()).credit_balance).toBe(before - 20);
    const done = await settle(client, created.id!);
    expect(done).toMatchObject({ state: 'failed', failure_reason: 'Frame moderation failed' });
    expect((await client.credits.get()).credit_balance).toBe(before);
    const stats = (await getStats(emulator.origin)).keys['bill-key'];
    expect(stats).toMatchObject({ billed: 2, refunded: 1, creditsCharged: 24, creditsRefunded: 20 });
    expect(stats.generations.find((g) => g.id === created.id)).toMatchObject({ cost_cents: 20, refunded: true });
  });
});

describe('concurrency cap', () => {
  it('answers 429 (RateLimitError) past the in-flight limit and bills nothing for it', async () => {
    const client = lumaClient(emulator.baseUrl, 'cap-key');
    await setFaults(emulator.origin, { extraDreamingMs: 1500 });
    const held = await Promise.all(
      ['one in flight', 'two in flight'].map((prompt) => client.generations.image.create({ prompt, model: 'photon-1' }))
    );
    const balance = (await client.credits.get()).credit_balance;
    const err = await rejection(client.generations.image.create({ prompt: 'one too many', model: 'photon-1' }));
    expect(err).toBeInstanceOf(LumaAI.RateLimitError);
    expect(err.headers?.['retry-after']).toBe('1');
    expect(detailOf(err)).toMatch(/image generations in flight: 2 of 2/);
    expect((await client.credits.get()).credit_balance).toBe(balance);
    const stats = (await getStats(emulator.origin)).keys['cap-key'];
    expect(stats).toMatchObject({ created: 2, billed: 2, inFlight: 2, maxInFlight: 2 });

    await Promise.all(held.map((g) => settle(client, g.id!)));
    const after = await client.generations.image.create({ prompt: 'room again', model: 'photon-1' });
    await settle(client, after.id!);
  });
});

describe('keyframes the service cannot read', () => {
  it.each([
    ['an unreachable URL', 'http://127.0.0.1:1/frame.png'],
    ['a URL that answers 404', '/missing.png'],
    ['a file that is not a picture', '/not-a-picture.png'],
  ])('fail the generation with "Failed to read user input frames" for %s, refunded', async (_name, url) => {
    const client = lumaClient(emulator.baseUrl, 'frames-key');
    const before = (await client.credits.get()).credit_balance;
    const created = await client.generations.video.create({
      prompt: 'a boat leaves the harbour',
      model: 'ray-2',
      resolution: '540p',
      keyframes: { frame0: { type: 'image', url: url.startsWith('/') ? `${server.origin}${url}` : url } },
    });
    const done = await settle(client, created.id!);
    expect(done).toMatchObject({ state: 'failed', failure_reason: 'Failed to read user input frames' });
    expect((await client.credits.get()).credit_balance).toBe(before);
  });
});
