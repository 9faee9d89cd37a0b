import { createHmac } from 'node:crypto';
import http from 'node:http';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { z } from 'zod';
import {
  costEstimateSchema,
  costProgressSchema,
  errorSchema,
  resultPendingSchema,
  reviewLinkSchema,
  storyCreatedSchema,
  storyListSchema,
  storyProgressSchema,
  storyResultSchema,
} from '../../server/api/schemas';
import type { Stage } from '../../common/stages';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { smallStory } from '../helpers/stories';

// The HTTP API end to end: real HTTP against a whole test deployment (Temporal dev server, workers, Luma emulator).

const BACKEND = 'b-token';
const REVIEWER = 'r-token';
const SECRET = 'api-test-review-secret';

let stack: TestStack;
let base: string;

beforeAll(async () => {
  stack = await startTestStack({
    env: { REELFLOW_API_TOKENS: `${BACKEND}:backend,${REVIEWER}:reviewer`, REELFLOW_SIGNING_SECRET: SECRET },
  });
  base = stack.config.http.publicUrl;
});
afterAll(async () => {
  await stack?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** One API call; `token` undefined sends no Authorization header. */
async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Asserts the status and that the body is the API's error shape with `code`; returns the error. */
function expectError(answer: Answer, status: number, code: string) {
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status, body: { error: { code } } });
  return errorSchema.parse(answer.body).error;
}

function parsed<S extends z.ZodType>(schema: S, answer: Answer, status = 200): z.output<S> {
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status });
  return schema.parse(answer.body);
}

/** Raw request with the path sent exactly as given (fetch would normalise `..` away). */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitForStage(id: string, stages: Stage[], timeoutMs = 90_000) {
  return eventually(
    async () => {
      const answer = await call('GET', `/v1/stories/${id}`, { token: REVIEWER });
      const progress = storyProgressSchema.parse(answer.body);
      return stages.includes(progress.stage) ? progress : undefined;
    },
    timeoutMs,
    `story ${id} in stage ${stages.join(' or ')}`
  );
}

function signLink(id: string, exp: number): string {
  return createHmac('sha256', SECRET).update(`review:${id}:${exp}`).digest('hex');
}

describe('without a running story', () => {
  test('GET /openapi.json is public and describes every route with schemas generated from zod', async () => {
    const doc = (await call('GET', '/openapi.json')).body as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/stories',
        '/v1/stories/{id}',
        '/v1/stories/{id}/result',
        '/v1/stories/{id}/keyframes/review',
        '/v1/stories/{id}/shots/{n}/review',
        '/v1/stories/{id}/budget',
        '/v1/stories/{id}/cancel',
        '/v1/stories/{id}/review-link',
        '/v1/estimate',
      ])
    );
    expect(Object.keys(doc.components.schemas.StorySpec.properties ?? {})).toEqual(
      expect.arrayContaining(['title', 'shots', 'resolution', 'review'])
    );
    expect(doc.components.schemas.KeyframeReview.properties).toHaveProperty('picks');
  });

  test('no token, an unknown token or a malformed header is 401 with WWW-Authenticate', async () => {
    const none = await call('GET', '/v1/stories');
    expectError(none, 401, 'unauthorized');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expectError(await call('GET', '/v1/stories', { token: 'nope' }), 401, 'unauthorized');
    expectError(
      await call('GET', '/v1/stories', { headers: { authorization: `Basic ${BACKEND}` } }),
      401,
      'unauthorized'
    );
    // 401 comes before the body is looked at: an anonymous caller learns nothing about validation.
    expectError(await call('POST', '/v1/stories', { body: { nonsense: true } }), 401, 'unauthorized');
  });

  test('each role is refused what it may not do with 403', async () => {
    const story = smallStory();
    expectError(await call('POST', '/v1/stories', { token: REVIEWER, body: story }), 403, 'forbidden');
    expectError(await call('POST', '/v1/estimate', { token: REVIEWER, body: story }), 403, 'forbidden');
    expectError(await call('POST', '/v1/stories/any-story/cancel', { token: REVIEWER }), 403, 'forbidden');
    expectError(
      await call('POST', '/v1/stories/any-story/budget', { token: REVIEWER, body: { budgetCredits: 9 } }),
      403,
      'forbidden'
    );
    expectError(
      await call('POST', '/v1/stories/any-story/review-link', { token: REVIEWER, body: {} }),
      403,
      'forbidden'
    );
    const review = { picks: [], approve: true };
    expectError(
      await call('POST', '/v1/stories/any-story/keyframes/review', { token: BACKEND, body: review }),
      403,
      'forbidden'
    );
    expectError(
      await call('POST', '/v1/stories/any-story/shots/1/review', { token: BACKEND, body: { decision: 'approve' } }),
      403,
      'forbidden'
    );
  });

  test('POST /v1/estimate prices a story; an invalid one is 400 naming the field', async () => {
    const estimate = parsed(
      costEstimateSchema,
      await call('POST', '/v1/estimate', { token: BACKEND, body: smallStory() })
    );
    expect(estimate).toMatchObject({ keyframeImages: 3, clips: 2 });
    expect(estimate.credits).toBeGreaterThan(0);

    const bad = smallStory();
    (bad.shots[1] as { duration: number }).duration = 7;
    const error = expectError(await call('POST', '/v1/estimate', { token: BACKEND, body: bad }), 400, 'invalid');
    expect(error.fields).toEqual([{ field: 'shots[1].duration', message: expect.stringMatching(/5 or 9/) }]);
  });

  test('POST /v1/stories refuses an invalid story, a bad id, local file inputs and non-JSON with 400/415', async () => {
    const noShots = { ...smallStory(), shots: [] };
    const plain = expectError(await call('POST', '/v1/stories', { token: BACKEND, body: noShots }), 400, 'invalid');
    expect(plain.fields?.map((f) => f.field)).toEqual(['shots']);

    const enveloped = await call('POST', '/v1/stories', {
      token: BACKEND,
      body: { story: { ...smallStory(), title: '' } },
    });
    expect(expectError(enveloped, 400, 'invalid').fields?.map((f) => f.field)).toEqual(['story.title']);

    const badId = await call('POST', '/v1/stories', { token: BACKEND, body: { id: '../etc', story: smallStory() } });
    expect(expectError(badId, 400, 'invalid').fields?.map((f) => f.field)).toEqual(['id']);

    const local = { ...smallStory(), keyframes: ['/etc/passwd', null, null], audio: { src: 'music.mp3' } };
    const refused = expectError(await call('POST', '/v1/stories', { token: BACKEND, body: local }), 400, 'invalid');
    expect(refused.fields?.map((f) => f.field)).toEqual(['keyframes[0]', 'audio.src']);

    const notJson = await fetch(`${base}/v1/stories`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BACKEND}`, 'content-type': 'application/json' },
      body: '{"title":',
    });
    expect(notJson.status).toBe(400);
    const xml = await fetch(`${base}/v1/stories`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BACKEND}`, 'content-type': 'application/xml' },
      body: '<story/>',
    });
    expect(xml.status).toBe(415);
  });

  test('an unknown story is 404 on every story route', async () => {
    const id = 'no-such-story';
    expectError(await call('GET', `/v1/stories/${id}`, { token: REVIEWER }), 404, 'not-found');
    expectError(await call('GET', `/v1/stories/${id}/result`, { token: REVIEWER }), 404, 'not-found');
    expectError(await call('GET', `/v1/stories/${id}/result?wait=false`, { token: REVIEWER }), 404, 'not-found');
    expectError(
      await call('POST', `/v1/stories/${id}/keyframes/review`, { token: REVIEWER, body: { approve: true } }),
      404,
      'not-found'
    );
    expectError(
      await call('POST', `/v1/stories/${id}/shots/1/review`, { token: REVIEWER, body: { decision: 'approve' } }),
      404,
      'not-found'
    );
    expectError(
      await call('POST', `/v1/stories/${id}/budget`, { token: BACKEND, body: { budgetCredits: 5 } }),
      404,
      'not-found'
    );
    expectError(await call('POST', `/v1/stories/${id}/cancel`, { token: BACKEND }), 404, 'not-found');
    expectError(await call('POST', `/v1/stories/${id}/review-link`, { token: BACKEND, body: {} }), 404, 'not-found');
    expectError(await call('GET', '/v1/nothing-here', { token: BACKEND }), 404, 'not-found');
  });

  test('asset paths that climb out of the assets folder are refused, raw or percent-encoded', async () => {
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/assets/%2E%2E/%2E%2E/package.json',
      '/assets/..%2fpackage.json',
      '/assets/%2e%2e%2fpackage.json',
      '/assets/....//package.json',
      '/assets/%2e%2e%5cpackage.json',
    ]) {
      const answer = await rawGet(path);
      expect({ path, status: answer.status }).toEqual({ path, status: expect.any(Number) });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.body.toString()).not.toContain('"name": "reelflow"');
    }
  });
});

describe('a story through the API', () => {
  const id = 'api-story-1';
  let created: z.output<typeof storyCreatedSchema>;

  beforeAll(async () => {
    const answer = await call('POST', '/v1/stories', {
      token: BACKEND,
      body: { id, story: smallStory({ variations: 2 }) },
    });
    created = parsed(storyCreatedSchema, answer, 201);
    expect(answer.headers.get('location')).toBe(`${base}/v1/stories/${id}`);
  });

  test('201 answers with the id, the estimate and links to progress, result, review page and Temporal UI', async () => {
    expect(created.id).toBe(id);
    expect(created.runId).toEqual(expect.any(String));
    expect(created.links).toMatchObject({
      self: `${base}/v1/stories/${id}`,
      result: `${base}/v1/stories/${id}/result`,
      temporalUi: expect.stringContaining(`/workflows/${id}`),
    });
    expect(created.links.review).toMatch(new RegExp(`^${base}/review/${id}\\?exp=\\d+&sig=[0-9a-f]{64}$`));
    expectError(
      await call('POST', '/v1/stories', { token: BACKEND, body: { id, story: smallStory() } }),
      409,
      'conflict'
    );
  });

  test('a review before the keyframes are ready is 409; the result is 202 while it runs (wait=false)', async () => {
    const early = await call('GET', `/v1/stories/${id}/result?wait=false`, { token: REVIEWER });
    expect(parsed(resultPendingSchema, early, 202).storyId).toBe(id);
    expect(early.headers.get('retry-after')).toBe('5');
    expectError(await call('GET', `/v1/stories/${id}/result?wait=maybe`, { token: REVIEWER }), 400, 'invalid');

    const progress = await waitForStage(id, ['awaiting-keyframe-review']);
    expect(progress.keyframes).toHaveLength(3);
    expect(progress.keyframes.every((k) => k.variations.length === 2 && k.variations.every((v) => v.url))).toBe(true);
    // Server file paths are not shown to API callers: files are URLs under /assets.
    expect(JSON.stringify(progress)).not.toContain(stack.config.assetsDir);
    expect(progress.keyframes[0].variations[0].url).toMatch(
      new RegExp(`^${base}/assets/${id}/run-[0-9a-f]{8}/keyframes/b0-v0\\.png\\?exp=\\d+&sig=[0-9a-f]{64}$`)
    );

    // A clip review while the story waits for its keyframe review: nothing to review yet.
    const clip = await call('POST', `/v1/stories/${id}/shots/1/review`, {
      token: REVIEWER,
      body: { decision: 'approve' },
    });
    expectError(clip, 409, 'conflict');
  });

  test('keyframe reviews: 400 for a malformed one, 422 for a variation that does not exist, 200 applied', async () => {
    const malformed = await call('POST', `/v1/stories/${id}/keyframes/review`, {
      token: REVIEWER,
      body: { picks: [{ boundary: 0, variation: -1 }] },
    });
    expect(expectError(malformed, 400, 'invalid').fields?.map((f) => f.field)).toEqual(['picks[0].variation']);
    const empty = await call('POST', `/v1/stories/${id}/keyframes/review`, { token: REVIEWER, body: {} });
    expectError(empty, 400, 'invalid');

    const missing = await call('POST', `/v1/stories/${id}/keyframes/review`, {
      token: REVIEWER,
      body: { picks: [{ boundary: 1, variation: 7 }] },
    });
    expect(expectError(missing, 422, 'rejected').message).toMatch(/variation 7/);

    const picked = await call('POST', `/v1/stories/${id}/keyframes/review`, {
      token: REVIEWER,
      body: { picks: [{ boundary: 1, variation: 1 }] },
    });
    expect(parsed(storyProgressSchema, picked).keyframes[1].picked).toBe(1);
  });

  test('shot review bodies are checked: 400 naming the field, 400 for a bad shot number, 404 past the last shot', async () => {
    const noFeedback = await call('POST', `/v1/stories/${id}/shots/1/review`, {
      token: REVIEWER,
      body: { decision: 'reject' },
    });
    expect(expectError(noFeedback, 400, 'invalid').fields?.map((f) => f.field)).toEqual(['feedback']);
    const zero = await call('POST', `/v1/stories/${id}/shots/0/review`, {
      token: REVIEWER,
      body: { decision: 'approve' },
    });
    expect(expectError(zero, 400, 'invalid').fields?.map((f) => f.field)).toEqual(['n']);
    const extra = await call('POST', `/v1/stories/${id}/shots/1/review`, {
      token: REVIEWER,
      body: { decision: 'approve', shot: 0 },
    });
    expectError(extra, 400, 'invalid');
    const past = await call('POST', `/v1/stories/${id}/shots/3/review`, {
      token: REVIEWER,
      body: { decision: 'approve' },
    });
    expect(expectError(past, 404, 'not-found').message).toMatch(/shots 1\.\.2/);
  });

  test('approving makes the video; the result lists URLs, and the files are served with range support', async () => {
    const approved = await call('POST', `/v1/stories/${id}/keyframes/review`, {
      token: REVIEWER,
      body: { approve: true },
    });
    expect(parsed(storyProgressSchema, approved).keyframes[1].picked).toBe(1);

    const result = parsed(storyResultSchema, await call('GET', `/v1/stories/${id}/result`, { token: REVIEWER }));
    expect(result.status).toBe('completed');
    expect(result.video).toMatch(new RegExp(`^${base}/assets/${id}/.+\\.mp4\\?exp=\\d+&sig=[0-9a-f]{64}$`));
    expect(result.shots.map((s) => s.clip)).toEqual([expect.stringMatching(/^http/), expect.stringMatching(/^http/)]);
    expect(result.keyframes[1].picked).toBe(1);

    const progress = parsed(storyProgressSchema, await call('GET', `/v1/stories/${id}`, { token: BACKEND }));
    expect(progress.stage).toBe('completed');
    expect(progress.output?.video.url?.split('?')[0]).toBe(result.video!.split('?')[0]);

    // Signed, the URL needs no token (what <video> and Luma rely on); unsigned, the same file is refused.
    const unsigned = await fetch(result.video!.split('?')[0]);
    expect(unsigned.status).toBe(401);
    await unsigned.arrayBuffer();
    const video = await fetch(result.video!);
    expect(video.status).toBe(200);
    const size = Number(video.headers.get('content-length'));
    expect(size).toBeGreaterThan(1000);
    await video.arrayBuffer();
    const part = await fetch(result.video!, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${size}`);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    const tail = await fetch(result.video!, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    await tail.arrayBuffer();
    const beyond = await fetch(result.video!, { headers: { range: `bytes=${size + 10}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${size}`);
    await beyond.arrayBuffer();

    const waited = await call('GET', `/v1/stories/${id}/result?wait=false`, { token: REVIEWER });
    expect(parsed(storyResultSchema, waited).status).toBe('completed');
  });

  test('Luma was handed signed keyframe URLs valid for a day; workflow history keeps them unsigned', async () => {
    const res = await fetch(`${stack.emulator.baseUrl}/generations?limit=100`, {
      headers: { authorization: `Bearer ${stack.lumaKey}` },
    });
    const { generations } = (await res.json()) as {
      generations: Array<{ request?: { callback_url?: string; keyframes?: Record<string, { url?: string }> } }>;
    };
    const frames = generations
      .filter((g) => g.request?.callback_url?.includes(encodeURIComponent(`${id}/`)))
      .flatMap((g) => Object.values(g.request?.keyframes ?? {}).map((k) => k.url!));
    expect(frames.length).toBe(4);
    for (const frame of frames) {
      const url = new URL(frame);
      expect(url.pathname).toMatch(new RegExp(`^/assets/${id}/run-[0-9a-f]{8}/keyframes/b\\d-v\\d\\.png$`));
      expect(url.searchParams.get('sig')).toMatch(/^[0-9a-f]{64}$/);
      expect(Number(url.searchParams.get('exp')) - Date.now() / 1000).toBeGreaterThan(23 * 3600);
    }
    // Every payload of the story and its clip attempts: asset URLs are there, signatures are not.
    for (const workflowId of [id, `${id}-shot-1-attempt-1`, `${id}-shot-2-attempt-1`]) {
      const history = historyToJSON(await stack.temporal.workflow.getHandle(workflowId).fetchHistory());
      const payloads = [...history.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) =>
        Buffer.from(m[1], 'base64').toString('utf8')
      );
      const text = payloads.join('\n');
      expect({ workflowId, hasAssets: text.includes(`/assets/${id}/`) }).toEqual({ workflowId, hasAssets: true });
      expect({ workflowId, signed: /[?&]sig=/.test(text) }).toEqual({ workflowId, signed: false });
    }
  });

  test('after the end: reviews, budget changes and cancel are 409', async () => {
    expectError(
      await call('POST', `/v1/stories/${id}/keyframes/review`, { token: REVIEWER, body: { approve: true } }),
      409,
      'conflict'
    );
    expectError(
      await call('POST', `/v1/stories/${id}/shots/1/review`, { token: REVIEWER, body: { decision: 'approve' } }),
      409,
      'conflict'
    );
    expectError(
      await call('POST', `/v1/stories/${id}/budget`, { token: BACKEND, body: { budgetCredits: 99 } }),
      409,
      'conflict'
    );
    expectError(await call('POST', `/v1/stories/${id}/cancel`, { token: BACKEND }), 409, 'conflict');
  });

  test('GET /v1/stories lists it, optionally by stage; a bad stage is 400', async () => {
    const all = await eventually(async () => {
      const list = parsed(storyListSchema, await call('GET', '/v1/stories?limit=200', { token: REVIEWER }));
      return list.stories.some((s) => s.storyId === id && s.stage === 'completed') ? list : undefined;
    }, 30_000);
    expect(all.stories.find((s) => s.storyId === id)).toMatchObject({ title: 'Test story', status: 'COMPLETED' });
    const completed = parsed(storyListSchema, await call('GET', '/v1/stories?stage=completed', { token: BACKEND }));
    expect(completed.stories.every((s) => s.stage === 'completed')).toBe(true);
    const bad = await call('GET', '/v1/stories?stage=dreaming', { token: BACKEND });
    expect(expectError(bad, 400, 'invalid').fields?.map((f) => f.field)).toEqual(['stage']);
    expect(
      expectError(await call('GET', '/v1/stories?limit=0', { token: BACKEND }), 400, 'invalid').fields?.[0].field
    ).toBe('limit');
  });
});

describe('idempotent creation, budget and cancel', () => {
  const started: string[] = [];
  afterAll(async () => {
    // Stop what these tests started so it does not compete with the other tests for the two cores.
    await Promise.all(started.map((id) => call('POST', `/v1/stories/${id}/cancel`, { token: BACKEND })));
  });

  test('the same Idempotency-Key returns the same story: 201 first, 200 after; another body with it is 422', async () => {
    const key = `key-${Date.now()}`;
    const story = smallStory({ title: 'Idempotent' });
    const first = await call('POST', '/v1/stories', {
      token: BACKEND,
      body: story,
      headers: { 'idempotency-key': key },
    });
    const a = parsed(storyCreatedSchema, first, 201);
    started.push(a.id);
    // Keys in another order are the same body.
    const reordered = Object.fromEntries(Object.entries(story).reverse());
    const again = await call('POST', '/v1/stories', {
      token: BACKEND,
      body: reordered,
      headers: { 'idempotency-key': key },
    });
    const b = parsed(storyCreatedSchema, again, 200);
    expect(b.id).toBe(a.id);
    expect(b.links.self).toBe(a.links.self);

    const other = await call('POST', '/v1/stories', {
      token: BACKEND,
      body: smallStory({ title: 'Something else' }),
      headers: { 'idempotency-key': key },
    });
    expectError(other, 422, 'rejected');
    const badKey = await call('POST', '/v1/stories', {
      token: BACKEND,
      body: story,
      headers: { 'idempotency-key': 'x'.repeat(201) },
    });
    expect(expectError(badKey, 400, 'invalid').fields?.[0].field).toBe('Idempotency-Key');
  });

  test('with an explicit id, the key makes a retry 200; without a key a second start is 409', async () => {
    const id = 'api-idem-explicit';
    const body = { id, story: smallStory({ title: 'Explicit id' }) };
    const headers = { 'idempotency-key': `explicit-${Date.now()}` };
    expect((await call('POST', '/v1/stories', { token: BACKEND, body, headers })).status).toBe(201);
    started.push(id);
    expect(parsed(storyCreatedSchema, await call('POST', '/v1/stories', { token: BACKEND, body, headers })).id).toBe(
      id
    );
    expectError(await call('POST', '/v1/stories', { token: BACKEND, body }), 409, 'conflict');
  });

  test('budget: raised with 200, not above the current one is 422, malformed is 400; cancel is 202', async () => {
    const id = 'api-budget';
    const story = smallStory({ title: 'Budget', budgetCredits: 100 });
    expect((await call('POST', '/v1/stories', { token: BACKEND, body: { id, story } })).status).toBe(201);
    started.push(id);
    const raised = await call('POST', `/v1/stories/${id}/budget`, { token: BACKEND, body: { budgetCredits: 150 } });
    expect(parsed(costProgressSchema, raised).budgetCredits).toBe(150);
    const lower = await call('POST', `/v1/stories/${id}/budget`, { token: BACKEND, body: { budgetCredits: 120 } });
    expect(expectError(lower, 422, 'rejected').message).toMatch(/not above/);
    const bad = await call('POST', `/v1/stories/${id}/budget`, { token: BACKEND, body: { budgetCredits: -1 } });
    expect(expectError(bad, 400, 'invalid').fields?.map((f) => f.field)).toEqual(['budgetCredits']);

    const cancel = await call('POST', `/v1/stories/${id}/cancel`, { token: BACKEND });
    expect(cancel.status).toBe(202);
    expect(cancel.body).toEqual({ storyId: id, status: 'cancel-requested' });
    const result = parsed(storyResultSchema, await call('GET', `/v1/stories/${id}/result`, { token: BACKEND }));
    expect(result.status).toBe('cancelled');
  });
});

describe('signed review links', () => {
  const id = 'api-linked';
  const other = 'api-linked-other';
  let link: z.output<typeof reviewLinkSchema>;
  let exp: string;
  let sig: string;

  beforeAll(async () => {
    for (const storyId of [id, other]) {
      const answer = await call('POST', '/v1/stories', {
        token: BACKEND,
        body: { id: storyId, story: smallStory({ title: storyId }) },
      });
      expect(answer.status).toBe(201);
    }
    link = parsed(
      reviewLinkSchema,
      await call('POST', `/v1/stories/${id}/review-link`, { token: BACKEND, body: { expiresInSeconds: 3600 } })
    );
    const url = new URL(link.url);
    exp = url.searchParams.get('exp')!;
    sig = url.searchParams.get('sig')!;
  });
  afterAll(async () => {
    await Promise.all([id, other].map((s) => call('POST', `/v1/stories/${s}/cancel`, { token: BACKEND })));
  });

  test('a backend mints a link for one story with its expiry; bad lifetimes are 400', async () => {
    expect(link.url).toBe(`${base}/review/${id}?exp=${exp}&sig=${sig}`);
    expect(Math.abs(Date.parse(link.expiresAt) - (Date.now() + 3600_000))).toBeLessThan(60_000);
    expect(sig).toBe(signLink(id, Number(exp)));
    const bad = await call('POST', `/v1/stories/${id}/review-link`, { token: BACKEND, body: { expiresInSeconds: 5 } });
    expect(expectError(bad, 400, 'invalid').fields?.map((f) => f.field)).toEqual(['expiresInSeconds']);
    // No body at all is fine: the default lifetime.
    const plain = await fetch(`${base}/v1/stories/${id}/review-link`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BACKEND}` },
    });
    expect(plain.status).toBe(200);
  });

  test('the link opens the page and grants read and review on its story, by header or query', async () => {
    const page = await fetch(link.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await page.text()).toContain(`data-story-id="${id}"`);

    const viaHeader = await call('GET', `/v1/stories/${id}`, { headers: { 'x-review-link': `${exp}.${sig}` } });
    expect(parsed(storyProgressSchema, viaHeader).storyId).toBe(id);
    const viaQuery = await call('GET', `/v1/stories/${id}?exp=${exp}&sig=${sig}`);
    expect(viaQuery.status).toBe(200);
    await waitForStage(id, ['awaiting-keyframe-review']);
    const review = await call('POST', `/v1/stories/${id}/keyframes/review`, {
      headers: { 'x-review-link': `${exp}.${sig}` },
      body: { picks: [{ boundary: 0, variation: 0 }] },
    });
    expect(review.status).toBe(200);
  });

  test('the link grants nothing else: another story, the list, cancel and budget are 403', async () => {
    const headers = { 'x-review-link': `${exp}.${sig}` };
    expectError(await call('GET', `/v1/stories/${other}`, { headers }), 403, 'forbidden');
    expectError(await call('GET', '/v1/stories', { headers }), 403, 'forbidden');
    expectError(await call('POST', `/v1/stories/${id}/cancel`, { headers }), 403, 'forbidden');
    expectError(
      await call('POST', `/v1/stories/${id}/budget`, { headers, body: { budgetCredits: 500 } }),
      403,
      'forbidden'
    );
    expectError(await call('POST', '/v1/estimate', { headers, body: smallStory() }), 403, 'forbidden');
    expectError(await call('POST', `/v1/stories/${id}/review-link`, { headers, body: {} }), 403, 'forbidden');
    expect((await fetch(`${base}/review/${other}?exp=${exp}&sig=${sig}`)).status).toBe(403);
  });

  test('a tampered or expired link is 403, on the API and on the page; no link at all is 401', async () => {
    const flipped = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
    const later = String(Number(exp) + 3600);
    const past = Math.floor(Date.now() / 1000) - 60;
    const expired = { exp: String(past), sig: signLink(id, past) };
    for (const [e, s] of [
      [exp, flipped],
      [later, sig],
      [exp, sig.slice(0, 40)],
      [exp, ''],
      [expired.exp, expired.sig],
    ]) {
      const api = await call('GET', `/v1/stories/${id}`, { headers: { 'x-review-link': `${e}.${s}` } });
      expect({ e, s, status: api.status }).toEqual({ e, s, status: 403 });
      const page = await fetch(`${base}/review/${id}?exp=${e}&sig=${s}`);
      expect({ e, s, status: page.status }).toEqual({ e, s, status: 403 });
    }
    const expiredAnswer = await call('GET', `/v1/stories/${id}?exp=${expired.exp}&sig=${expired.sig}`);
    expect(expectError(expiredAnswer, 403, 'forbidden').message).toMatch(/expired/);
    expect((await fetch(`${base}/review/${id}`)).status).toBe(401);
  });

  test('the page script and styles are served from this server', async () => {
    const script = await fetch(`${base}/review-page/review.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const code = await script.text();
    expect(code).toContain('/v1/stories/');
    expect(code).not.toMatch(/https?:\/\/(?!localhost)[a-z]/i);
    expect((await fetch(`${base}/review-page/review.css`)).status).toBe(200);
  });
});

describe('clip review', () => {
  const id = 'api-clips';

  test('shot n counts from 1: rejecting shot 2 remakes shot index 1, then approving both finishes the story', async () => {
    const story = smallStory({
      title: 'Clip review',
      review: { keyframes: false, clips: true, timeout: '1h', onTimeout: 'fail' },
    });
    expect((await call('POST', '/v1/stories', { token: BACKEND, body: { id, story } })).status).toBe(201);
    const awaiting = (n: number) =>
      eventually(
        async () => {
          const p = storyProgressSchema.parse((await call('GET', `/v1/stories/${id}`, { token: REVIEWER })).body);
          return p.shots[n - 1].state === 'awaiting-review' ? p : undefined;
        },
        120_000,
        `shot ${n} awaiting review`
      );
    const first = await awaiting(2);
    const attemptsBefore = first.shots[1].attempts.length;
    const rejected = await call('POST', `/v1/stories/${id}/shots/2/review`, {
      token: REVIEWER,
      body: { decision: 'reject', feedback: 'make the light warmer' },
    });
    expect(rejected.status).toBe(200);
    // The same shot again, right away: its decision is taken, so it is not waiting for one.
    const twice = await call('POST', `/v1/stories/${id}/shots/2/review`, {
      token: REVIEWER,
      body: { decision: 'approve' },
    });
    expectError(twice, 409, 'conflict');

    await awaiting(1);
    expect(
      (await call('POST', `/v1/stories/${id}/shots/1/review`, { token: REVIEWER, body: { decision: 'approve' } }))
        .status
    ).toBe(200);
    const second = await eventually(
      async () => {
        const p = storyProgressSchema.parse((await call('GET', `/v1/stories/${id}`, { token: REVIEWER })).body);
        return p.shots[1].state === 'awaiting-review' && p.shots[1].attempts.length > attemptsBefore ? p : undefined;
      },
      120_000,
      'the remade shot 2'
    );
    expect(second.shots[1].attempts.some((a) => a.feedback === 'make the light warmer')).toBe(true);
    expect(
      (await call('POST', `/v1/stories/${id}/shots/2/review`, { token: REVIEWER, body: { decision: 'approve' } }))
        .status
    ).toBe(200);
    const result = parsed(storyResultSchema, await call('GET', `/v1/stories/${id}/result`, { token: REVIEWER }));
    expect(result.status).toBe('completed');
    expect(result.shots.map((s) => s.attempts)).toEqual([1, 2]);
  });
});
