import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import { createLocalAssetStore } from '../../assets';
import { ApiAuth } from '../../server/api/auth';
import { publicView } from '../../server/api/public-view';
import type { StoryClient } from '../../server/api/routes';
import { errorSchema } from '../../server/api/schemas';
import { ReelflowError } from '../../client/reelflow-client';
import { createServer } from '../../server/server';
import type { StoryProgress } from '../../common/progress';
import { loadConfig, type ReelflowConfig } from '../../config';

// The API's own decisions, with a fake client over real HTTP (no Temporal needed): the open mode when no
// tokens are configured, how client errors map onto statuses, and review-link expiry on a controlled clock.

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-api-open-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Starts a server on a free loopback port; `call` sends one request to it. */
async function serve(client: StoryClient, env: Record<string, string> = {}) {
  const app = await createServer({ config: config(env), client });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = (method: string, url: string, options: { token?: string; body?: unknown } = {}) =>
    fetch(base + url, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  return { app, call };
}

function config(env: Record<string, string> = {}): ReelflowConfig {
  return loadConfig({ REELFLOW_DATA_DIR: dataDir, REELFLOW_HTTP_PORT: '8123', ...env });
}

function progressOf(storyId: string, stage: StoryProgress['stage'] = 'shots'): StoryProgress {
  const file = path.join(dataDir, 'assets', storyId, 'keyframes', 'b0-v0.png');
  return {
    storyId,
    title: 'Fake',
    mode: 'parallel',
    stage,
    keyframes: [
      {
        boundary: 0,
        prompt: 'p',
        round: 1,
        state: 'ready',
        picked: 0,
        variations: [{ index: 0, state: 'ready', credits: 1, path: file, url: `http://x/assets/${storyId}/k.png` }],
      },
    ],
    shots: [{ index: 0, state: 'pending', attempts: [], credits: 0 }],
    cost: {
      estimated: { keyframeImages: 1, clips: 1, imageCredits: 1, videoCredits: 3, credits: 4, dollars: 0.2 },
      used: 1,
      dollars: 0.05,
      waitingForBudget: false,
    },
    stageStartedAt: {},
  };
}

function fakeClient(overrides: Partial<StoryClient> = {}): StoryClient {
  const fail = () => Promise.reject(new Error('not used in this test'));
  return {
    start: fail,
    estimate: () => ({ keyframeImages: 0, clips: 0, imageCredits: 0, videoCredits: 0, credits: 0, dollars: 0 }),
    progress: async (id) => progressOf(id),
    reviewKeyframes: fail,
    reviewShot: fail,
    raiseBudget: fail,
    cancel: async () => undefined,
    result: fail,
    list: async () => [{ storyId: 'fake-1', status: 'RUNNING' }],
    uiUrl: (id) => `http://ui/${id}`,
    ...overrides,
  };
}

describe('open mode: no API tokens configured', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve(fakeClient());
  });
  afterAll(() => server.app.close());

  test('loopback callers get every right without a token, asset files included', async () => {
    expect((await server.call('GET', '/v1/stories')).status).toBe(200);
    expect((await server.call('POST', '/v1/stories/s-1/cancel')).status).toBe(202);
    expect((await server.call('GET', '/review/s-1')).status).toBe(200);
    const file = path.join(dataDir, 'assets', 's-1', 'run-1', 'poster.jpg');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'poster bytes');
    const asset = await server.call('GET', '/assets/s-1/run-1/poster.jpg');
    expect(asset.status).toBe(200);
    expect(await asset.text()).toBe('poster bytes');
  });

  test('other callers are refused with a 401 that says why', () => {
    const auth = new ApiAuth({ tokens: [] });
    const remote = { headers: {}, query: {}, socket: { remoteAddress: '10.1.2.3' } } as unknown as FastifyRequest;
    expect(() => auth.authorize(remote, 'read', 's-1')).toThrow(/REELFLOW_API_TOKENS/);
    const local = {
      headers: {},
      query: {},
      socket: { remoteAddress: '::ffff:127.0.0.1' },
    } as unknown as FastifyRequest;
    expect(auth.authorize(local, 'cancel', 's-1')).toEqual({ kind: 'open' });
  });

  test('an empty JSON body is no body, a poisoned one is 400, and answers are never cached', async () => {
    const base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    const empty = await fetch(`${base}/v1/stories/s-1/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(202);
    expect(empty.headers.get('cache-control')).toBe('no-store');
    const poisoned = await fetch(`${base}/v1/estimate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title":"x","shots":[{"description":"abc"}],"__proto__":{"admin":true}}',
    });
    expect(poisoned.status).toBe(400);
  });

  test('a token sent anyway is checked (and unknown), so a misconfigured server does not silently ignore it', async () => {
    expect((await server.call('GET', '/v1/stories', { token: 'x' })).status).toBe(401);
  });
});

describe('errors from the client map onto statuses', () => {
  const cases: Array<[string, unknown, number, string]> = [
    ['invalid', new ReelflowError('invalid', 'bad', [{ field: 'shots', message: 'x' }]), 400, 'invalid'],
    ['not-found', new ReelflowError('not-found', 'no story'), 404, 'not-found'],
    ['conflict', new ReelflowError('conflict', 'not waiting'), 409, 'conflict'],
    ['rejected', new ReelflowError('rejected', 'no variation 9'), 422, 'rejected'],
    ['a bug', new Error('secret internals'), 500, 'internal'],
    ['Temporal down', Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }), 503, 'unavailable'],
  ];
  test.each(cases)('%s', async (_name, error, status, code) => {
    const { app, call } = await serve(fakeClient({ reviewKeyframes: () => Promise.reject(error) }), {
      REELFLOW_API_TOKENS: 'r:reviewer',
    });
    const answer = await call('POST', '/v1/stories/s-1/keyframes/review', { token: 'r', body: { approve: true } });
    const text = await answer.text();
    await app.close();
    expect(answer.status).toBe(status);
    expect(errorSchema.parse(JSON.parse(text)).error.code).toBe(code);
    expect(text).not.toContain('secret internals');
  });
});

describe('review links', () => {
  test('a link is valid until its expiry and refused after it; lifetimes are capped at 30 days', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const auth = new ApiAuth({ tokens: [], signingSecret: 's3cret' }, () => now);
    const link = new URL(auth.reviewLink('story-1', 'http://h', 600).url);
    const exp = link.searchParams.get('exp')!;
    const sig = link.searchParams.get('sig')!;
    expect(auth.checkReviewLink('story-1', exp, sig)).toBe('valid');
    expect(auth.checkReviewLink('story-2', exp, sig)).toBe('bad-signature');
    now += 601_000;
    expect(auth.checkReviewLink('story-1', exp, sig)).toBe('expired');
    const long = auth.reviewLink('story-1', 'http://h', 10 ** 9);
    expect(Date.parse(long.expiresAt) - now).toBe(30 * 24 * 3600 * 1000);
  });

  test('without a configured secret, links of one process are not valid in another', () => {
    const a = new ApiAuth({ tokens: [] });
    const b = new ApiAuth({ tokens: [] });
    expect(a.ephemeralSecret).toBe(true);
    const link = new URL(a.reviewLink('story-1', 'http://h').url);
    const [exp, sig] = [link.searchParams.get('exp')!, link.searchParams.get('sig')!];
    expect(a.checkReviewLink('story-1', exp, sig)).toBe('valid');
    expect(b.checkReviewLink('story-1', exp, sig)).toBe('bad-signature');
  });
});

test('API answers show files as signed URLs and never as server paths', async () => {
  const assetsDir = path.join(dataDir, 'assets');
  const store = createLocalAssetStore({ root: assetsDir, publicBaseUrl: 'http://h:1', secret: 'public-view-secret' });
  const view = (await publicView(
    {
      video: path.join(assetsDir, 's-1', 'final video.mp4'),
      clip: { path: path.join(assetsDir, 's-1', 'c.mp4'), url: 'http://h:1/assets/s-1/c.mp4' },
      elsewhere: { path: '/x/y.mp4', url: 'http://other/assets/y.mp4' },
      prompt: 'a phone on a table',
    },
    store
  )) as Record<string, unknown>;
  expect(view).toEqual({
    video: expect.stringMatching(/^http:\/\/h:1\/assets\/s-1\/final%20video\.mp4\?exp=\d+&sig=[0-9a-f]{64}$/),
    clip: { url: expect.stringMatching(/^http:\/\/h:1\/assets\/s-1\/c\.mp4\?exp=\d+&sig=[0-9a-f]{64}$/) },
    elsewhere: { url: 'http://other/assets/y.mp4' },
    prompt: 'a phone on a table',
  });
  const url = new URL(view.video as string);
  const check = store.served!.check('s-1/final video.mp4', url.searchParams.get('exp')!, url.searchParams.get('sig')!);
  expect(check).toBe('valid');
});
