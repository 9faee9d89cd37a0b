import LumaAI from 'lumaai';
import { getStats, setBalance, startEmulator, type RunningEmulator } from '../../../emulator';
import { detailOf, lumaClient, rejection, settle } from './support';

let emulator: RunningEmulator;
let client: LumaAI;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, keys: ['api-key', 'list-key', 'poor-key'] });
  client = lumaClient(emulator.baseUrl, 'api-key');
});

afterAll(async () => {
  await emulator?.close();
});

const frame = (url: string) => ({ type: 'image' as const, url });
const video = { prompt: 'a calm sea under a pale sky', model: 'ray-2' as const, resolution: '540p' };

describe('authentication', () => {
  it('answers 401 (AuthenticationError) with a detail for an unknown key', async () => {
    const err = await rejection(lumaClient(emulator.baseUrl, 'wrong-key').ping.check());
    expect(err).toBeInstanceOf(LumaAI.AuthenticationError);
    expect(err.status).toBe(401);
    expect(detailOf(err)).toMatch(/API key/);
  });

  it('answers ping and credits for a known key', async () => {
    expect(await client.ping.check()).toEqual({ message: 'pong' });
    expect((await client.credits.get()).credit_balance).toBe(100_000);
  });
});

describe('validation answers 400 (BadRequestError) with a detail naming the field', () => {
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['video model', () => client.generations.create({ ...video, model: 'ray-9' as 'ray-2' }), /^model:/],
    ['missing model', () => client.generations.create({ prompt: 'a calm sea' } as never), /^model:/],
    [
      'image model',
      () => client.generations.image.create({ prompt: 'a calm sea', model: 'ray-2' as 'photon-1' }),
      /^model:/,
    ],
    ['aspect_ratio', () => client.generations.create({ ...video, aspect_ratio: '5:4' as '1:1' }), /^aspect_ratio:/],
    ['duration', () => client.generations.create({ ...video, duration: '7s' }), /^duration:/],
    ['resolution', () => client.generations.create({ ...video, resolution: '8k' }), /^resolution:/],
    ['short prompt', () => client.generations.create({ ...video, prompt: 'ab' }), /^prompt:/],
    ['long prompt', () => client.generations.image.create({ prompt: 'x'.repeat(5001), model: 'photon-1' }), /^prompt:/],
    [
      'loop with keyframes',
      () => client.generations.create({ ...video, loop: true, keyframes: { frame0: frame('http://127.0.0.1/a.png') } }),
      /^loop:.*keyframes/,
    ],
    [
      'keyframe without url',
      () => client.generations.create({ ...video, keyframes: { frame0: { type: 'image' } as never } }),
      /^keyframes\.frame0\.url:/,
    ],
    [
      'keyframe of unknown type',
      () => client.generations.create({ ...video, keyframes: { frame1: { type: 'video', url: 'x' } as never } }),
      /^keyframes\.frame1\.type:/,
    ],
    [
      'keyframe with a non-http url',
      () => client.generations.create({ ...video, keyframes: { frame0: frame('file:///etc/passwd') } }),
      /^keyframes\.frame0\.url:/,
    ],
    [
      'unknown generation referenced',
      () =>
        client.generations.create({
          ...video,
          keyframes: { frame0: { type: 'generation', id: '00000000-0000-4000-8000-000000000000' } },
        }),
      /^keyframes\.frame0\.id:.*no generation/,
    ],
  ];

  it.each(cases)('%s', async (_name, call, detail) => {
    const err = await rejection(call());
    expect(err).toBeInstanceOf(LumaAI.BadRequestError);
    expect(detailOf(err)).toMatch(detail);
  });

  it('bills none of the refused requests', async () => {
    const stats = await getStats(emulator.origin);
    expect(stats.keys['api-key'].billed).toBe(0);
    expect(stats.keys['api-key'].generations).toHaveLength(0);
  });
});

describe('create paths', () => {
  it('accepts a video on the older POST /generations path as on /generations/video', async () => {
    const body = { prompt: 'an old path still works', model: 'ray-flash-2', resolution: '540p', duration: '5s' };
    const created = (await client.post('/generations', { body })) as { id: string; request: unknown };
    expect(created.request).toEqual(body);
    expect((await client.generations.get(created.id)).generation_type).toBe('video');
    await client.generations.delete(created.id);
  });
});

describe('lookups', () => {
  it('answers 404 (NotFoundError) for an unknown generation id, on get and delete', async () => {
    const missing = '11111111-1111-4111-8111-111111111111';
    expect(await rejection(client.generations.get(missing))).toBeInstanceOf(LumaAI.NotFoundError);
    expect(await rejection(client.generations.delete(missing))).toBeInstanceOf(LumaAI.NotFoundError);
  });

  it("hides another key's generations", async () => {
    const other = lumaClient(emulator.baseUrl, 'list-key');
    const mine = await client.generations.image.create({ prompt: 'only mine', model: 'photon-flash-1' });
    expect(await rejection(other.generations.get(mine.id!))).toBeInstanceOf(LumaAI.NotFoundError);
    await settle(client, mine.id!);
  });

  it('answers 404 with a JSON detail for a path the API does not have', async () => {
    const err = await rejection(client.get('/generations/concepts/list'));
    expect(err).toBeInstanceOf(LumaAI.NotFoundError);
    expect(detailOf(err)).toMatch(/Not Found/);
  });
});

describe('list and delete', () => {
  it('lists newest first with count, has_more, limit and offset, and forgets deleted generations', async () => {
    const lister = lumaClient(emulator.baseUrl, 'list-key');
    const ids: string[] = [];
    for (const prompt of ['first picture', 'second picture', 'third picture']) {
      ids.push((await lister.generations.image.create({ prompt, model: 'photon-flash-1' })).id!);
    }
    const page1 = await lister.generations.list({ limit: 2, offset: 0 });
    expect(page1).toMatchObject({ count: 2, has_more: true, limit: 2, offset: 0 });
    expect(page1.generations.map((g) => g.id)).toEqual([ids[2], ids[1]]);
    const page2 = await lister.generations.list({ limit: 2, offset: 2 });
    expect(page2).toMatchObject({ count: 1, has_more: false, limit: 2, offset: 2 });
    expect(page2.generations.map((g) => g.id)).toEqual([ids[0]]);
    expect((page2.generations[0].request as { prompt: string }).prompt).toBe('first picture');

    await lister.generations.delete(ids[1]);
    expect(await rejection(lister.generations.get(ids[1]))).toBeInstanceOf(LumaAI.NotFoundError);
    const all = await lister.generations.list();
    expect(all.generations.map((g) => g.id)).toEqual([ids[2], ids[0]]);
    await Promise.all([settle(lister, ids[0]), settle(lister, ids[2])]);
  });

  it('refuses a bad limit with a 400 naming it', async () => {
    const err = await rejection(client.generations.list({ limit: 0 }));
    expect(err).toBeInstanceOf(LumaAI.BadRequestError);
    expect(detailOf(err)).toMatch(/^limit:/);
  });
});

describe('credits', () => {
  it('refuses a generation the balance cannot pay with a 400 about insufficient credits, billing nothing', async () => {
    await setBalance(emulator.origin, 'poor-key', 5);
    const poor = lumaClient(emulator.baseUrl, 'poor-key');
    const err = await rejection(
      poor.generations.create({
        ...video,
        keyframes: { frame0: frame('http://127.0.0.1/a.png'), frame1: frame('http://127.0.0.1/b.png') },
      })
    );
    expect(err).toBeInstanceOf(LumaAI.BadRequestError);
    expect(detailOf(err)).toMatch(/Insufficient credits.*15 cents.*5 cents/);
    expect((await poor.credits.get()).credit_balance).toBe(5);
    expect((await getStats(emulator.origin)).keys['poor-key'].billed).toBe(0);
  });
});
