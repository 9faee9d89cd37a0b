import { ApiError, createFalClient, ValidationError, type FalClient } from '@fal-ai/client';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getFalStats, setFaults } from '../../../emulator/admin';
import { startFalEmulator, type RunningFalEmulator } from '../../../emulator/fal';
import { falUrl } from '../../../providers/fal';
import {
  download,
  extractFrame,
  keyframePng,
  meanAbsDiff,
  probeVideo,
  startTestServer,
  type TestServer,
} from './support';

// The fal face through the unmodified @fal-ai/client SDK, pointed at it with the SDK's documented
// `requestMiddleware` the way providers/fal.ts does: paths, states, errors, billing on success, the Platform API
// listing, and real clips whose first and last frames are the requested images.

const KEY = 'fal-face-key';
// Typed as plain strings: the SDK's per-endpoint input types would refuse the bad inputs these tests send on purpose.
const KLING: string = 'fal-ai/kling-video/v2.5-turbo/pro/image-to-video';
const VEO: string = 'fal-ai/veo3.1/fast/first-last-frame-to-video';
let fal: RunningFalEmulator;
let server: TestServer;
let client: FalClient;
let dir: string;

beforeAll(async () => {
  fal = await startFalEmulator({ port: 0, keys: [KEY], latencyMs: 100, concurrency: 4 });
  server = await startTestServer();
  server.serve('/start.png', await keyframePng(640, 360, 'warm'), 'image/png');
  server.serve('/end.png', await keyframePng(640, 360, 'cool'), 'image/png');
  client = sdk(KEY);
  dir = await mkdtemp(path.join(tmpdir(), 'fal-face-'));
});
afterAll(async () => {
  await fal?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await setFaults(fal.origin, {});
});

/** An SDK client as reelflow builds one, without SDK retries so each test sees every answer. */
function sdk(credentials: string): FalClient {
  return createFalClient({
    credentials,
    requestMiddleware: async (request) => ({ ...request, url: falUrl(request.url, fal.baseUrl) }),
    retry: { maxRetries: 0 },
  });
}

const kling = (extra: Record<string, unknown> = {}) => ({
  prompt: 'the phone lights up',
  image_url: `${server.origin}/start.png`,
  tail_image_url: `${server.origin}/end.png`,
  duration: '5',
  ...extra,
});

/** Polls the SDK's status until COMPLETED. */
async function completed(endpoint: string, requestId: string): Promise<Record<string, unknown>> {
  const seen = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const status = (await client.queue.status(endpoint, { requestId })) as unknown as Record<string, unknown>;
    seen.add(String(status.status));
    if (status.status === 'COMPLETED') return { ...status, seen: [...seen] };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`request ${requestId} never completed`);
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

test('a Kling request moves IN_QUEUE → IN_PROGRESS → COMPLETED and its clip runs from the START image to the END image', async () => {
  const { request_id } = await client.queue.submit(KLING, { input: kling() });
  const status = await completed(KLING, request_id);
  expect(status.seen).toEqual(expect.arrayContaining(['IN_PROGRESS', 'COMPLETED']));
  expect(status.error).toBeUndefined();
  const result = await client.queue.result(KLING, { requestId: request_id });
  expect(result.requestId).toBe(request_id);
  const video = (result.data as { video: { url: string; content_type: string } }).video;
  expect(video.content_type).toBe('video/mp4');
  const file = path.join(dir, 'kling.mp4');
  await download(video.url, file);
  // Kling takes no size: the clip follows its START image (640x360 here), 5 s at 24 fps.
  expect(await probeVideo(file)).toMatchObject({ codec: 'h264', width: 640, height: 360, frames: 120 });
  await extractFrame(file, 'first', path.join(dir, 'first.png'));
  await extractFrame(file, 'last', path.join(dir, 'last.png'));
  const start = await keyframePng(640, 360, 'warm');
  const end = await keyframePng(640, 360, 'cool');
  expect(await meanAbsDiff(path.join(dir, 'first.png'), start)).toBeLessThan(4);
  expect(await meanAbsDiff(path.join(dir, 'last.png'), end)).toBeLessThan(4);
}, 60_000);

test('Veo first-last-frame renders at the asked resolution and length', async () => {
  const { request_id } = await client.queue.submit(VEO, {
    input: {
      prompt: 'a slow push-in',
      first_frame_url: `${server.origin}/start.png`,
      last_frame_url: `${server.origin}/end.png`,
      duration: '4s',
      resolution: '720p',
      aspect_ratio: '16:9',
      generate_audio: false,
    },
  });
  await completed(VEO, request_id);
  const { data } = await client.queue.result(VEO, { requestId: request_id });
  const file = path.join(dir, 'veo.mp4');
  await download((data as { video: { url: string } }).video.url, file);
  expect(await probeVideo(file)).toMatchObject({ width: 1280, height: 720, frames: 96 });
}, 60_000);

test('inputs are validated as fal documents them: 422 with field errors, nothing queued', async () => {
  const before = (await getFalStats(fal.origin)).keys[KEY].created;
  const bad = await rejection(client.queue.submit(KLING, { input: kling({ duration: '9' }) }));
  expect(bad).toBeInstanceOf(ValidationError);
  expect((bad as ValidationError).status).toBe(422);
  expect((bad as ValidationError).fieldErrors).toContainEqual(
    expect.objectContaining({ loc: ['body', 'duration'], type: 'literal_error' })
  );
  const noEnd = await rejection(
    client.queue.submit(VEO, { input: { prompt: 'x y z', first_frame_url: `${server.origin}/start.png` } })
  );
  expect((noEnd as ValidationError).getFieldErrors('last_frame_url')).toHaveLength(1);
  expect((await getFalStats(fal.origin)).keys[KEY].created).toBe(before);
});

test('a wrong key is 401 and an unknown request 404', async () => {
  const denied = await rejection(sdk('not-a-key').queue.submit(KLING, { input: kling() }));
  expect(denied).toBeInstanceOf(ApiError);
  expect((denied as ApiError<unknown>).status).toBe(401);
  const missing = await rejection(client.queue.status(KLING, { requestId: '00000000-0000-0000-0000-000000000000' }));
  expect((missing as ApiError<unknown>).status).toBe(404);
});

test('fal charges results only: a success is billed once, a failure and a cancel cost nothing', async () => {
  const ok = await client.queue.submit(KLING, {
    input: kling({ image_url: `${server.origin}/start.png#reelflow-key=s/ok` }),
  });
  await completed(KLING, ok.request_id);

  await setFaults(fal.origin, { failNext: 1, failureReason: 'GPU worker crashed' });
  const failed = await client.queue.submit(KLING, {
    input: kling({ image_url: `${server.origin}/start.png#reelflow-key=s/failed` }),
  });
  const status = await completed(KLING, failed.request_id);
  expect(status).toMatchObject({ error: 'GPU worker crashed', error_type: 'runner_server_error' });
  const failedResult = await rejection(client.queue.result(KLING, { requestId: failed.request_id }));
  expect((failedResult as ApiError<unknown>).status).toBe(500);

  await setFaults(fal.origin, { extraDreamingMs: 30_000 });
  const cancelled = await client.queue.submit(KLING, {
    input: kling({ image_url: `${server.origin}/start.png#reelflow-key=s/cancelled` }),
  });
  await client.queue.cancel(KLING, { requestId: cancelled.request_id });
  expect(await completed(KLING, cancelled.request_id)).toMatchObject({ error_type: 'client_cancelled' });
  // A finished request cannot be cancelled: 400 (ALREADY_COMPLETED).
  const late = await rejection(client.queue.cancel(KLING, { requestId: ok.request_id }));
  expect((late as ApiError<unknown>).status).toBe(400);

  const { ledger } = (await getFalStats(fal.origin)).keys[KEY];
  expect(ledger['s/ok']).toMatchObject({ billed: 1, netCents: 35 });
  expect(ledger['s/failed']).toMatchObject({ billed: 0, netCents: 0 });
  expect(ledger['s/cancelled']).toMatchObject({ billed: 0, netCents: 0, deleted: 1 });
}, 60_000);

test('the Platform API lists requests of an endpoint since a time, with their inputs, page by page', async () => {
  const since = new Date().toISOString();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await client.queue.submit(KLING, { input: kling({ prompt: `listing ${i}` }) })).request_id);
  }
  const list = async (query: string) => {
    const response = await fetch(
      falUrl(
        `https://api.fal.ai/v1/models/requests/by-endpoint?endpoint_id=${encodeURIComponent(KLING)}&${query}`,
        fal.baseUrl
      ),
      { headers: { Authorization: `Key ${KEY}` } }
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const first = await list(`start=${since}&limit=2&expand=payloads`);
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ has_more: true });
  const second = await list(`start=${since}&limit=2&expand=payloads&cursor=${first.body.next_cursor}`);
  const items = [...(first.body.items as object[]), ...(second.body.items as object[])] as Array<{
    request_id: string;
    json_input: { prompt: string };
  }>;
  expect(items.map((i) => i.request_id).sort()).toEqual([...ids].sort());
  expect(items.map((i) => i.json_input.prompt).sort()).toEqual(['listing 0', 'listing 1', 'listing 2']);
  expect((await list('limit=500')).status).toBe(422);
  const denied = await fetch(
    falUrl(`https://api.fal.ai/v1/models/requests/by-endpoint?endpoint_id=${KLING}`, fal.baseUrl)
  );
  expect(denied.status).toBe(401);
});

test('faults: a lost submit answer still queues the request; 429 and 5xx record nothing; a list can hang', async () => {
  const before = (await getFalStats(fal.origin)).keys[KEY].created;
  await setFaults(fal.origin, { dropNext: 1 });
  // The SDK's submit retries a dropped connection on its own, whatever its config says: two paid requests for one
  // call. This is why providers/fal.ts stops the SDK's retries and reconciles instead.
  const resent = await client.queue.submit(KLING, { input: kling({ prompt: 'lost answer' }) });
  const stats = await getFalStats(fal.origin);
  expect(stats.keys[KEY].created).toBe(before + 2);
  const lost = stats.keys[KEY].generations.filter((g) => (g.json_input as { prompt: string }).prompt === 'lost answer');
  expect(lost.map((g) => g.id)).toContain(resent.request_id);
  expect(lost).toHaveLength(2);

  // Raw requests here: the SDK would retry 429 and 503 by itself.
  const submitRaw = () =>
    fetch(falUrl(`https://queue.fal.run/${KLING}`, fal.baseUrl), {
      method: 'POST',
      headers: { Authorization: `Key ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(kling()),
    });
  await setFaults(fal.origin, { rateLimitNext: 1, serverErrorNext: 1, serverErrorStatus: 503 });
  expect((await submitRaw()).status).toBe(503);
  expect((await submitRaw()).status).toBe(429);
  expect((await getFalStats(fal.origin)).keys[KEY].created).toBe(before + 2);

  await setFaults(fal.origin, { slowListNext: 1, slowListMs: 60_000 });
  const hanging = fetch(falUrl(`https://api.fal.ai/v1/models/requests/by-endpoint?endpoint_id=${KLING}`, fal.baseUrl), {
    headers: { Authorization: `Key ${KEY}` },
    signal: AbortSignal.timeout(500),
  });
  await expect(hanging).rejects.toThrow(/abort|timeout/i);
});

test('past the account concurrency requests wait IN_QUEUE, never refused', async () => {
  const small = await startFalEmulator({ port: 0, keys: ['c1'], concurrency: 1, latencyMs: 1500 });
  try {
    const c = createFalClient({
      credentials: 'c1',
      requestMiddleware: async (r) => ({ ...r, url: falUrl(r.url, small.baseUrl) }),
      retry: { maxRetries: 0 },
    });
    const a = await c.queue.submit(KLING, { input: kling() });
    const b = await c.queue.submit(KLING, { input: kling() });
    await new Promise((r) => setTimeout(r, 400));
    expect((await c.queue.status(KLING, { requestId: a.request_id })).status).toBe('IN_PROGRESS');
    expect(await c.queue.status(KLING, { requestId: b.request_id })).toMatchObject({
      status: 'IN_QUEUE',
      queue_position: 0,
    });
    expect((await getFalStats(small.origin)).keys.c1.maxInFlight).toBe(2);
  } finally {
    await small.close();
  }
});
