import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractFrame, probeMedia } from '../../activities/ffmpeg';
import { imageDiff } from '../../activities/images';
import { gateState, gateWorkflowId } from '../../common/gate';
import { getFalStats, getStats, setFaults } from '../../emulator/admin';
import { modelListingSchema, storyProgressSchema, storyResultSchema } from '../../server/api/schemas';
import { expectPaidOnceAndCounted, ledgerOf } from '../helpers/ledger';
import { startS3Server, type S3TestServer } from '../helpers/s3-server';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

// Two providers through real parts: the Temporal dev server, workers, the lumaai SDK against the Luma face and the
// unmodified @fal-ai/client against the fal face, the HTTP API. A story whose shots use both completes with each
// clip made (and paid) where its model lives; a shot whose provider is down falls back and says so.

const TOKEN = 'providers-backend-token';
let stack: TestStack;
let base: string;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'reelflow-providers-'));

beforeAll(async () => {
  stack = await startTestStack({
    // A create that keeps failing gives up after 6 s (an hour by default) and the shot may fall back; creates time
    // out after 1.5 s, so one fits in that time.
    env: {
      REELFLOW_API_TOKENS: `${TOKEN}:backend`,
      REELFLOW_SUBMIT_GIVE_UP_MS: '6000',
      LUMA_CREATE_TIMEOUT_MS: '1500',
      FAL_CREATE_TIMEOUT_MS: '1500',
    },
  });
  base = stack.config.http.publicUrl;
});
afterEach(async () => {
  await setFaults(stack.fal.origin, {});
  await setFaults(stack.emulator.origin, {});
});
afterAll(async () => {
  await stack?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function api(pathname: string): Promise<unknown> {
  const res = await fetch(base + pathname, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.json();
}

test('a story whose shots use two providers completes: each clip made, gated and paid where its model lives', async () => {
  const id = 'two-providers';
  const story = smallStory({ shots: 3, variations: 1 });
  story.shots[1] = { ...story.shots[1], videoModel: 'kling-2.5-turbo-pro' };
  await stack.client.start(story, { storyId: id });
  const atReview = await waitForStage(stack, id, 'awaiting-keyframe-review');
  expect(atReview.cost.estimated.byProvider?.map((p) => [p.provider, p.clips, p.credits])).toEqual([
    ['luma', 2, 4 * 0.8 + 2 * 3],
    ['fal', 1, 7],
  ]);
  await stack.client.reviewKeyframes(id, { approve: true });
  const result = await stack.client.result(id);
  expect(result.status).toBe('completed');
  expect(result.shots.map((s) => [s.provider, s.model])).toEqual([
    ['luma', 'ray-3-14'],
    ['fal', 'kling-2.5-turbo-pro'],
    ['luma', 'ray-3-14'],
  ]);

  // The fal clip too leaves from its START keyframe and arrives at its END keyframe.
  const progress = await stack.client.progress(id);
  const keyframe = (b: number) => progress.keyframes[b].variations[progress.keyframes[b].picked!].path!;
  const falClip = result.shots[1].clip!;
  expect(await probeMedia(falClip)).toMatchObject({ width: 960, height: 540 });
  for (const [which, t, b] of [
    ['first', 0, 1],
    ['last', 4.95, 2],
  ] as const) {
    const frame = path.join(scratch, `fal-${which}.png`);
    await extractFrame(falClip, t, frame);
    expect(await imageDiff(frame, keyframe(b))).toBeLessThan(12);
  }
  const video = await probeMedia(result.video!);
  expect(Math.abs(video.durationSeconds - (15 - 2 * story.transition!.crossfade!))).toBeLessThanOrEqual(0.06);

  // Each provider's share equals what its face charged; together they are the story's credits.
  const luma = await ledgerOf(stack, id, { face: 'luma' });
  const fal = await ledgerOf(stack, id, { face: 'fal' });
  expect(Object.keys(fal.keys)).toEqual([expect.stringMatching(/\/shot\/2\/a1$/)]);
  expect(result.byProvider?.map((p) => [p.provider, p.credits])).toEqual([
    ['luma', luma.netCredits],
    ['fal', fal.netCredits],
  ]);
  await expectPaidOnceAndCounted(stack, result);

  // One gate per provider account, each with its own limits, both empty now.
  const falGate = await stack.temporal.workflow
    .getHandle(gateWorkflowId(stack.config.queues.prefix, 'fal'))
    .query(gateState);
  expect(falGate).toMatchObject({ provider: 'fal', limits: { video: { maxInFlight: 10 } }, holders: [] });
  expect(falGate.limits.image).toBeUndefined();
  expect((await getFalStats(stack.fal.origin)).keys[stack.falKey].maxInFlight).toBeGreaterThanOrEqual(1);

  // The HTTP API shows provider and model per shot, in progress and result, as its schemas say.
  const shown = storyProgressSchema.parse(await api(`/v1/stories/${id}`));
  expect(shown.shots.map((s) => s.model)).toEqual(['ray-3-14', 'kling-2.5-turbo-pro', 'ray-3-14']);
  expect(shown.shots[1].attempts[0]).toMatchObject({ provider: 'fal', model: 'kling-2.5-turbo-pro' });
  const answered = storyResultSchema.parse(await api(`/v1/stories/${id}/result`));
  expect(answered.shots[1]).toMatchObject({ provider: 'fal', model: 'kling-2.5-turbo-pro', credits: 7 });
  expect(answered.byProvider).toEqual(result.byProvider);
});

test('GET /v1/models lists every provider and model with capabilities and prices; OpenAPI describes it', async () => {
  const listing = modelListingSchema.parse(await api('/v1/models'));
  expect(listing.providers.map((p) => p.id)).toEqual(['luma', 'fal']);
  const kling = listing.videoModels.find((m) => m.id === 'kling-2.5-turbo-pro')!;
  expect(kling).toMatchObject({ provider: 'fal', durations: [5, 10], endFrame: 'optional' });
  expect(kling.prices).toContainEqual({ durationSeconds: 10, resolution: '720p', credits: 14, dollars: 0.7 });
  expect(listing.videoModels.find((m) => m.default)?.id).toBe('ray-3-14');
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
    paths: Record<string, unknown>;
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };
  expect(doc.paths['/v1/models']).toBeDefined();
  expect(doc.components.schemas.ModelListing).toBeDefined();
  expect(JSON.stringify(doc.components.schemas.StoryProgress)).toContain('"provider"');
});

test('a shot whose provider is down falls back to its fallback model; the clip is attributed to the fallback', async () => {
  const id = 'fallback-outage';
  const story = smallStory({
    shots: 1,
    variations: 1,
    videoModel: 'kling-2.5-turbo-pro',
    fallbackVideoModel: 'ray-3-14',
  });
  await stack.client.start(story, { storyId: id });
  await waitForStage(stack, id, 'awaiting-keyframe-review');
  // fal is down for creates: every submit answers 503 (the SDK would retry it; reelflow's activity does, until 6 s).
  await setFaults(stack.fal.origin, { serverErrorRate: 1, serverErrorStatus: 503 });
  const before = (await getFalStats(stack.fal.origin)).requests.byStatus['503'] ?? 0;
  await stack.client.reviewKeyframes(id, { approve: true });
  const result = await stack.client.result(id);
  expect(result.status).toBe('completed');
  expect(result.shots[0]).toMatchObject({ provider: 'luma', model: 'ray-3-14', attempts: 1 });
  expect(result.shots[0].attemptDetails).toEqual([
    expect.objectContaining({ attempt: 1, provider: 'fal', model: 'kling-2.5-turbo-pro', state: 'failed', credits: 0 }),
    expect.objectContaining({ attempt: 2, provider: 'luma', model: 'ray-3-14', state: 'completed', fallback: true }),
  ]);
  const progress = await stack.client.progress(id);
  expect(progress.shots[0].attempts[0].failureReason).toMatch(/^fal failed the create/);
  expect(((await getFalStats(stack.fal.origin)).requests.byStatus['503'] ?? 0) - before).toBeGreaterThanOrEqual(2);
  // Nothing was made at fal; the clip and its keyframes were paid at Luma, once each.
  expect(Object.keys((await ledgerOf(stack, id, { face: 'fal' })).keys)).toEqual([]);
  expect(result.byProvider?.map((p) => p.provider)).toEqual(['luma']);
  const luma = (await getStats(stack.emulator.origin)).keys[stack.lumaKey].ledger;
  expect(Object.keys(luma).filter((k) => k.startsWith(`${id}/`) && k.includes('/shot/'))).toEqual([
    expect.stringMatching(/\/shot\/1\/a2$/),
  ]);
  await expectPaidOnceAndCounted(stack, result);
});

describe('on the S3 asset store', () => {
  // fal's media goes through the asset store like Luma's: it is handed presigned bucket URLs of the keyframes (the
  // key in their fragment) and its clip is stored in the bucket.
  let s3: S3TestServer;
  let s3Stack: TestStack;
  beforeAll(async () => {
    s3 = await startS3Server('moto');
    s3Stack = await startTestStack({ s3 });
  });
  afterAll(async () => {
    await s3Stack?.close();
    await s3?.stop();
  });

  test('a fal clip is made from presigned bucket URLs of its keyframes and kept in the bucket', async () => {
    const id = 's3-two-providers';
    const story = smallStory({ shots: 2, variations: 1 });
    story.shots[1] = { ...story.shots[1], videoModel: 'kling-2.5-turbo-pro' };
    await s3Stack.client.start(story, { storyId: id });
    await waitForStage(s3Stack, id, 'awaiting-keyframe-review');
    await s3Stack.client.reviewKeyframes(id, { approve: true });
    const result = await s3Stack.client.result(id);
    expect(result.status).toBe('completed');
    expect(result.shots.map((s) => s.provider)).toEqual(['luma', 'fal']);
    expect(result.shots[1].clip).toMatch(new RegExp(`^s3://reelflow-[0-9a-f]{8}/deployment-1/${id}/run-[0-9a-f]{8}/`));

    const [request] = (await getFalStats(s3Stack.fal.origin)).keys[s3Stack.falKey].generations;
    const start = new URL(String(request.json_input && (request.json_input as Record<string, unknown>).image_url));
    expect(start.origin).toBe(s3.endpoint);
    expect(start.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(start.hash).toMatch(new RegExp(`^#reelflow-key=${encodeURIComponent(`${id}/`)}`));
    await expectPaidOnceAndCounted(s3Stack, result);
  });
});
