import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createLocalAssetStore, createS3AssetStore, type AssetStore } from '../../assets';
import { resultFromProgress, type AssetRef, type StoryProgress } from '../../common/progress';
import { loadConfig } from '../../config';
import type { StoryClient } from '../../server/api/routes';
import { errorSchema, reviewLinkSchema, storyProgressSchema, storyResultSchema } from '../../server/api/schemas';
import { createServer } from '../../server/server';
import { startS3Server, type S3TestServer } from '../helpers/s3-server';

// Who may fetch a story's files under /assets/, over real HTTP against the real server (a fake story client, real
// files): a signed URL for exactly that file, a role token, a review link of the file's own story, or nobody.

const SECRET = 'asset-access-test-secret';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-asset-access-'));
const assetsDir = path.join(dataDir, 'assets');
const BODY = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
const fileA = path.join(assetsDir, 'story-a', 'run-1', 'keyframes', 'b0-v0.png');
const fileB = path.join(assetsDir, 'story-b', 'run-1', 'output', 'story.mp4');

let base: string;
let close: () => Promise<void>;

function progressOf(storyId: string, ref: AssetRef = store().refForPath(storyId === 'story-a' ? fileA : fileB)) {
  const progress: StoryProgress = {
    storyId,
    title: storyId,
    mode: 'parallel',
    stage: 'awaiting-keyframe-review',
    keyframes: [
      {
        boundary: 0,
        prompt: 'p',
        round: 1,
        state: 'ready',
        variations: [{ index: 0, state: 'ready', credits: 1, ...ref }],
      },
    ],
    shots: [],
    cost: {
      estimated: { keyframeImages: 1, clips: 0, imageCredits: 1, videoCredits: 0, credits: 1, dollars: 0.05 },
      used: 1,
      dollars: 0.05,
      waitingForBudget: false,
    },
    stageStartedAt: {},
  };
  return progress;
}

/** The store as the workers of this deployment see it (same root, URL and secret). */
function store(now?: () => number) {
  return createLocalAssetStore({ root: assetsDir, publicBaseUrl: base ?? 'http://x', secret: SECRET, now });
}

const client: StoryClient = {
  start: () => Promise.reject(new Error('unused')),
  estimate: () => ({ keyframeImages: 0, clips: 0, imageCredits: 0, videoCredits: 0, credits: 0, dollars: 0 }),
  progress: async (id) => {
    if (id !== 'story-a' && id !== 'story-b') throw new Error('unknown');
    return progressOf(id);
  },
  reviewKeyframes: () => Promise.reject(new Error('unused')),
  reviewShot: () => Promise.reject(new Error('unused')),
  raiseBudget: () => Promise.reject(new Error('unused')),
  cancel: async () => undefined,
  result: () => Promise.reject(new Error('unused')),
  list: async () => [],
  uiUrl: (id) => `http://ui/${id}`,
};

beforeAll(async () => {
  for (const file of [fileA, fileB]) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, BODY);
  }
  writeFileSync(path.join(path.dirname(fileA), '.reelflow-half-written.part'), 'scratch');
  writeFileSync(path.join(dataDir, 'outside.txt'), 'outside the assets folder');
  symlinkSync(path.join(dataDir, 'outside.txt'), path.join(path.dirname(fileA), 'escape.txt'));
  const port = await new Promise<number>((resolve) => {
    const probe = http.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
  base = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    REELFLOW_DATA_DIR: dataDir,
    REELFLOW_HTTP_PORT: String(port),
    REELFLOW_API_TOKENS: 'b-token:backend,r-token:reviewer',
    REELFLOW_SIGNING_SECRET: SECRET,
  });
  const app = await createServer({ config, client });
  await app.listen({ host: '127.0.0.1', port });
  close = () => app.close();
});
afterAll(async () => {
  await close?.();
  rmSync(dataDir, { recursive: true, force: true });
});

const urlOf = (file: string) => store().refForPath(file).url;

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

/** The `error.code` of an API error answer. */
function codeOf(answer: { body: Buffer }): string {
  return errorSchema.parse(JSON.parse(answer.body.toString())).error.code;
}

/** A request with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: pathname, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('without credentials an asset is 401 with WWW-Authenticate, whether or not the file exists', async () => {
  const existing = await get(urlOf(fileA));
  expect(existing.status).toBe(401);
  expect(codeOf(existing)).toBe('unauthorized');
  expect(existing.headers.get('www-authenticate')).toMatch(/^Bearer/);
  expect((await get(`${base}/assets/story-a/run-1/keyframes/nothing.png`)).status).toBe(401);
  expect((await get(urlOf(fileA), { authorization: 'Bearer nope' })).status).toBe(401);
});

test("a role token reads any story's files, with range requests", async () => {
  for (const token of ['b-token', 'r-token']) {
    const whole = await get(urlOf(fileB), { authorization: `Bearer ${token}` });
    expect(whole.status).toBe(200);
    expect(whole.body.equals(BODY)).toBe(true);
    expect(whole.headers.get('cache-control')).toMatch(/^private/);
  }
  const part = await get(urlOf(fileA), { authorization: 'Bearer r-token', range: 'bytes=10-19' });
  expect(part.status).toBe(206);
  expect(part.headers.get('content-range')).toBe(`bytes 10-19/${BODY.length}`);
  expect(part.body.equals(BODY.subarray(10, 20))).toBe(true);
});

test('an API answer carries signed URLs that fetch their file without a token, ranges and HEAD included', async () => {
  const answer = await fetch(`${base}/v1/stories/story-a`, { headers: { authorization: 'Bearer r-token' } });
  const progress = storyProgressSchema.parse(await answer.json());
  const signed = progress.keyframes[0].variations[0].url!;
  expect(signed).toMatch(
    new RegExp(`^${base}/assets/story-a/run-1/keyframes/b0-v0\\.png\\?exp=\\d+&sig=[0-9a-f]{64}$`)
  );
  const exp = Number(new URL(signed).searchParams.get('exp'));
  // Valid for at least the caller lifetime (an hour), at most 10 minutes more.
  expect(exp - Date.now() / 1000).toBeGreaterThan(3600 - 60);
  expect(exp - Date.now() / 1000).toBeLessThan(3600 + 600 + 60);
  const whole = await get(signed);
  expect(whole.status).toBe(200);
  expect(whole.body.equals(BODY)).toBe(true);
  const tail = await get(signed, { range: 'bytes=-10' });
  expect(tail.status).toBe(206);
  expect(tail.body.equals(BODY.subarray(-10))).toBe(true);
  expect((await fetch(signed, { method: 'HEAD' })).status).toBe(200);
});

test("a tampered, expired, malformed or other file's signature is 403", async () => {
  const signed = new URL(await store().signUrl(urlOf(fileA), 600));
  const exp = signed.searchParams.get('exp')!;
  const sig = signed.searchParams.get('sig')!;
  const at = (pathname: string, e: string, s: string) => `${base}${pathname}?exp=${e}&sig=${s}`;
  const flipped = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
  const expired = new URL(await store(() => Date.now() - 7200_000).signUrl(urlOf(fileA), 60));
  const cases: Array<[string, string]> = [
    ['tampered signature', at(signed.pathname, exp, flipped)],
    ['later expiry', at(signed.pathname, String(Number(exp) + 3600), sig)],
    ['another file', at(new URL(urlOf(fileB)).pathname, exp, sig)],
    ['short signature', at(signed.pathname, exp, sig.slice(0, 40))],
    ['no signature', at(signed.pathname, exp, '')],
    ['expiry not a number', at(signed.pathname, 'soon', sig)],
    ['expired', expired.toString()],
  ];
  for (const [what, url] of cases) {
    const answer = await get(url);
    expect({ what, status: answer.status, code: codeOf(answer) }).toEqual({ what, status: 403, code: 'forbidden' });
  }
  expect(JSON.parse((await get(expired.toString())).body.toString()).error.message).toMatch(/expired/);
  expect((await get(signed.toString())).status).toBe(200);
});

test("a review link opens its own story's files only; its signature is no asset signature", async () => {
  const minted = await fetch(`${base}/v1/stories/story-a/review-link`, {
    method: 'POST',
    headers: { authorization: 'Bearer b-token' },
  });
  const link = new URL(reviewLinkSchema.parse(await minted.json()).url);
  const header = { 'x-review-link': `${link.searchParams.get('exp')}.${link.searchParams.get('sig')}` };
  expect((await get(urlOf(fileA), header)).status).toBe(200);
  const other = await get(urlOf(fileB), header);
  expect(other.status).toBe(403);
  expect(codeOf(other)).toBe('forbidden');
  // The link's own query on an asset URL is checked as an asset signature, and it is not one.
  expect((await get(`${urlOf(fileA)}${link.search}`)).status).toBe(403);

  // What the link's holder is handed (story A's answer) opens A's file, and its signature nothing else.
  const answer = await fetch(`${base}/v1/stories/story-a`, { headers: header });
  const signed = new URL(storyProgressSchema.parse(await answer.json()).keyframes[0].variations[0].url!);
  expect((await get(signed.toString())).status).toBe(200);
  expect((await get(`${new URL(urlOf(fileB)).origin}${new URL(urlOf(fileB)).pathname}${signed.search}`)).status).toBe(
    403
  );
  expect((await fetch(`${base}/v1/stories/story-b`, { headers: header })).status).toBe(403);
});

test('scratch dotfiles, symlinks out of the folder and climbing paths are never served, even with a token', async () => {
  const auth = { authorization: 'Bearer r-token' };
  const dir = new URL(urlOf(fileA)).pathname.replace(/[^/]+$/, '');
  expect((await get(`${base}${dir}.reelflow-half-written.part`, auth)).status).toBe(404);
  const link = await get(`${base}${dir}escape.txt`, auth);
  expect(link.status).toBe(404);
  expect(link.body.toString()).not.toContain('outside the assets folder');
  for (const pathname of [
    '/assets/../package.json',
    '/assets/%2e%2e/package.json',
    '/assets/story-a/%2e%2e/%2e%2e/outside.txt',
    '/assets/story-a/..%2f..%2foutside.txt',
    '/assets/..%5c..%5coutside.txt',
    '/assets/story-a//run-1/keyframes/b0-v0.png',
  ]) {
    const answer = await rawGet(pathname, auth);
    expect({ pathname, status: answer.status >= 400 && answer.status < 500 }).toEqual({ pathname, status: true });
    expect(answer.body).not.toContain('"name": "reelflow"');
    expect(answer.body).not.toContain('outside the assets folder');
  }
});

describe('with the S3 asset store', () => {
  // The same server on a bucket (moto): it serves no /assets/ at all, and answers carry presigned GET URLs that fetch
  // straight from the bucket, so neither Luma nor a reviewer needs our server to be public for files.
  let s3: S3TestServer;
  let bucket: string;
  let s3Base: string;
  let s3Store: AssetStore;
  let closeS3: () => Promise<void>;
  let ref: AssetRef;

  beforeAll(async () => {
    s3 = await startS3Server('moto');
    bucket = await s3.createBucket();
    Object.assign(process.env, s3.env);
    s3Store = createS3AssetStore({ bucket, prefix: 'assets', client: s3.client });
    ref = s3Store.ref('story-s3', 'run-1/keyframes/b0-v0.png');
    const file = path.join(dataDir, 'upload.png');
    writeFileSync(file, BODY);
    await s3Store.put(file, ref);
    const port = await new Promise<number>((resolve) => {
      const probe = http.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    s3Base = `http://127.0.0.1:${port}`;
    const config = loadConfig({
      REELFLOW_DATA_DIR: path.join(dataDir, 's3-server'),
      REELFLOW_HTTP_PORT: String(port),
      REELFLOW_API_TOKENS: 'b-token:backend,r-token:reviewer',
      REELFLOW_SIGNING_SECRET: SECRET,
      REELFLOW_ASSET_STORE: `s3://${bucket}/assets`,
    });
    const progress = { ...progressOf('story-s3', ref), stage: 'completed' as const };
    progress.output = { video: ref, poster: ref, storyboard: ref, durationSeconds: 1 };
    const s3Client: StoryClient = {
      ...client,
      progress: async (id) => {
        if (id !== 'story-s3') throw new Error('unknown');
        return progress;
      },
      result: async () => resultFromProgress(progress),
    };
    // The server builds its store from the settings alone (REELFLOW_ASSET_STORE and the AWS_* environment).
    const app = await createServer({ config, client: s3Client });
    await app.listen({ host: '127.0.0.1', port });
    closeS3 = () => app.close();
  }, 60_000);
  afterAll(async () => {
    await closeS3?.();
    await s3?.stop();
  });

  test('the server serves no /assets/: files are not on its disk', async () => {
    const answer = await get(`${s3Base}/assets/story-s3/run-1/keyframes/b0-v0.png`, {
      authorization: 'Bearer r-token',
    });
    expect(answer.status).toBe(404);
  });

  test('progress and result answers carry presigned bucket URLs that fetch the file without our server', async () => {
    const answer = await fetch(`${s3Base}/v1/stories/story-s3`, { headers: { authorization: 'Bearer r-token' } });
    const body = (await answer.json()) as Record<string, unknown>;
    const progress = storyProgressSchema.parse(body);
    const variation = (body.keyframes as Array<{ variations: Array<Record<string, unknown>> }>)[0].variations[0];
    // Only the URL: no store key, no path, no bare s3:// URL.
    expect(Object.keys(variation).sort()).toEqual(['credits', 'index', 'state', 'url']);
    expect(JSON.stringify(body)).not.toContain('s3://');
    const signed = new URL(progress.keyframes[0].variations[0].url!);
    expect(`${signed.origin}${signed.pathname}`).toBe(`${s3.endpoint}/${bucket}/assets/${ref.key}`);
    expect(Number(signed.searchParams.get('X-Amz-Expires'))).toBeGreaterThanOrEqual(3600);
    const fetched = await get(signed.toString());
    expect(fetched.status).toBe(200);
    expect(fetched.body.equals(BODY)).toBe(true);
    expect((await get(`${signed.origin}${signed.pathname}`)).status).toBe(403);

    const result = storyResultSchema.parse(
      await (
        await fetch(`${s3Base}/v1/stories/story-s3/result`, { headers: { authorization: 'Bearer b-token' } })
      ).json()
    );
    expect(new URL(result.video!).pathname).toBe(`/${bucket}/assets/${ref.key}`);
    expect((await get(result.video!)).body.equals(BODY)).toBe(true);
  });

  test('without credentials the API still refuses before handing out any URL', async () => {
    expect((await fetch(`${s3Base}/v1/stories/story-s3`)).status).toBe(401);
  });
});
