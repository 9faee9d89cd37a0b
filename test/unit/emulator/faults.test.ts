import LumaAI from 'lumaai';
import {
  clearFaults,
  getFaults,
  getStats,
  resetStats,
  setFaults,
  startEmulator,
  type RunningEmulator,
} from '../../../emulator';
import { lumaClient, rejection, settle } from './support';

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, keys: ['fault-key', 'drop-key', 'seed-key'] });
});

afterAll(async () => {
  await emulator?.close();
});

afterEach(async () => {
  await clearFaults(emulator.origin);
});

const image = (prompt: string, callback_url?: string) => ({ prompt, model: 'photon-flash-1' as const, callback_url });

describe('fault injection', () => {
  it('is off by default', async () => {
    expect(await getFaults(emulator.origin)).toMatchObject({
      failNext: 0,
      failRate: 0,
      dropNext: 0,
      extraLatencyMs: 0,
    });
  });

  it('failNext: the next generation ends failed with the given reason', async () => {
    const client = lumaClient(emulator.baseUrl, 'fault-key');
    await setFaults(emulator.origin, { failNext: 1, failureReason: 'Contains blacklisted words' });
    const doomed = await client.generations.image.create(image('a doomed picture'));
    const fine = await client.generations.image.create(image('a fine picture'));
    expect(await settle(client, doomed.id!)).toMatchObject({
      state: 'failed',
      failure_reason: 'Contains blacklisted words',
    });
    expect((await settle(client, fine.id!)).state).toBe('completed');
    expect((await getFaults(emulator.origin)).failNext).toBe(0);
  });

  it('rateLimitNext: the next create is answered 429 (RateLimitError) and recorded nowhere', async () => {
    const client = lumaClient(emulator.baseUrl, 'fault-key');
    await resetStats(emulator.origin);
    await setFaults(emulator.origin, { rateLimitNext: 1 });
    expect(await rejection(client.generations.image.create(image('limited')))).toBeInstanceOf(LumaAI.RateLimitError);
    const stats = await getStats(emulator.origin);
    expect(stats.keys['fault-key'].created).toBe(0);
    expect(stats.requests.byStatus['429']).toBe(1);
  });

  it('serverErrorNext: the next create is answered 5xx (InternalServerError); the SDK retry then succeeds', async () => {
    await setFaults(emulator.origin, { serverErrorNext: 1, serverErrorStatus: 503 });
    const err = await rejection(lumaClient(emulator.baseUrl, 'fault-key').generations.image.create(image('broken')));
    expect(err).toBeInstanceOf(LumaAI.InternalServerError);
    expect(err.status).toBe(503);

    await setFaults(emulator.origin, { serverErrorNext: 1 });
    const retrying = lumaClient(emulator.baseUrl, 'fault-key', { maxRetries: 1 });
    const created = await retrying.generations.image.create(image('second time lucky'));
    expect((await settle(retrying, created.id!)).state).toBe('completed');
  });

  it('dropNext: the SDK sees a connection error, yet the generation exists in the list and is billed once', async () => {
    const client = lumaClient(emulator.baseUrl, 'drop-key');
    const before = (await client.credits.get()).credit_balance;
    await setFaults(emulator.origin, { dropNext: 1 });
    const callback = 'http://127.0.0.1:9/callback?key=story-1/keyframe-0/v1';
    const err = await rejection(client.generations.image.create(image('a lost answer', callback)));
    expect(err).toBeInstanceOf(LumaAI.APIConnectionError);

    const listed = await client.generations.list();
    const found = listed.generations.filter((g) => (g.request as { callback_url?: string }).callback_url === callback);
    expect(found).toHaveLength(1);
    expect((await client.credits.get()).credit_balance).toBe(before - 1);
    const stats = await getStats(emulator.origin);
    expect(stats.keys['drop-key'].billed).toBe(1);
    expect(stats.requests.byStatus.dropped).toBeGreaterThanOrEqual(1);
    // The callback receiver is down (port 9): the generation completes regardless.
    expect((await settle(client, found[0].id!)).state).toBe('completed');
  });

  it('extraLatencyMs: delays answers, so a short SDK timeout fires while the create is still recorded', async () => {
    const client = lumaClient(emulator.baseUrl, 'fault-key', { timeout: 300 });
    await setFaults(emulator.origin, { extraLatencyMs: 1000 });
    const started = Date.now();
    const err = await rejection(client.generations.image.create(image('a slow answer')));
    expect(err).toBeInstanceOf(LumaAI.APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
    const slow = await lumaClient(emulator.baseUrl, 'fault-key').generations.list({ limit: 1 });
    expect((slow.generations[0].request as { prompt: string }).prompt).toBe('a slow answer');
  });

  it('rates are drawn from a seeded generator: the same seed gives the same sequence', async () => {
    const client = lumaClient(emulator.baseUrl, 'seed-key');
    const outcomes = async () => {
      await setFaults(emulator.origin, { rateLimitRate: 0.5, seed: 42, scope: 'all' });
      const result: string[] = [];
      for (let i = 0; i < 12; i++) {
        result.push(
          await client.ping.check().then(
            () => 'ok',
            (e: unknown) => (e instanceof LumaAI.RateLimitError ? '429' : 'other')
          )
        );
      }
      return result;
    };
    const first = await outcomes();
    expect(first).toContain('ok');
    expect(first).toContain('429');
    expect(await outcomes()).toEqual(first);
  });
});
