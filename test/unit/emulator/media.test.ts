import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type LumaAI from 'lumaai';
import sharp from 'sharp';
import { startEmulator, type RunningEmulator } from '../../../emulator';
import {
  download,
  eventually,
  extractFrame,
  keyframePng,
  lumaClient,
  meanAbsDiff,
  keyframeTimes,
  probeVideo,
  settle,
  startTestServer,
  type TestServer,
} from './support';

let emulator: RunningEmulator;
let server: TestServer;
let client: LumaAI;
let work: string;
let warm: Buffer;
let cool: Buffer;

beforeAll(async () => {
  [emulator, server, work] = await Promise.all([
    startEmulator({ port: 0, keys: ['media-key'] }),
    startTestServer(),
    mkdtemp(path.join(tmpdir(), 'emulator-media-test-')),
  ]);
  client = lumaClient(emulator.baseUrl, 'media-key');
  [warm, cool] = await Promise.all([keyframePng(960, 540, 'warm'), keyframePng(960, 540, 'cool')]);
  server.serve('/frames/warm.png', warm, 'image/png');
  server.serve('/frames/cool.png', cool, 'image/png');
});

afterAll(async () => {
  await Promise.all([emulator?.close(), server?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('image generations', () => {
  it('complete with a picture of the exact size for the aspect ratio, echo the request and call back', async () => {
    const body = {
      prompt: 'a phone resting on a marble table',
      model: 'photon-1' as const,
      aspect_ratio: '9:16' as const,
      callback_url: `${server.origin}/callback?key=img-1`,
    };
    const created = await client.generations.image.create(body);
    expect(created.state).toBe('queued');
    expect(created.generation_type).toBe('image');
    expect(created.request).toEqual(body);

    const done = await settle(client, created.id!);
    expect(done.state).toBe('completed');
    expect(done.assets?.video).toBeUndefined();
    const file = path.join(work, 'portrait.jpg');
    expect(await download(done.assets!.image!, file)).toBe('image/jpeg');
    const meta = await sharp(file).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 540, 960]);

    await eventually(
      () => server.callbacks.filter((c) => c.body.id === created.id).length >= 2,
      'dreaming and completed callbacks'
    );
    const states = server.callbacks.filter((c) => c.url === '/callback?key=img-1').map((c) => c.body.state);
    expect(states).toEqual(['dreaming', 'completed']);
  });

  it('gives three visibly different variations of one prompt and a different picture for another prompt', async () => {
    const prompts = [
      'a misty forest at dawn',
      'a misty forest at dawn',
      'a misty forest at dawn',
      'a neon city street',
    ];
    const created = await Promise.all(
      prompts.map((prompt) => client.generations.image.create({ prompt, model: 'photon-flash-1', format: 'png' }))
    );
    const done = await Promise.all(created.map((g) => settle(client, g.id!)));
    const files = await Promise.all(
      done.map(async (g, i) => {
        const file = path.join(work, `variation-${i}.png`);
        expect(await download(g.assets!.image!, file)).toBe('image/png');
        return file;
      })
    );
    const differences = [
      await meanAbsDiff(files[0], files[1]),
      await meanAbsDiff(files[1], files[2]),
      await meanAbsDiff(files[0], files[2]),
      await meanAbsDiff(files[0], files[3]),
    ];
    for (const d of differences) expect(d).toBeGreaterThan(10);
  });
});

describe('video generations', () => {
  it('render a start+end clip: H.264, 24 fps, the asked size and duration, first frame = frame0, last = frame1', async () => {
    const body = {
      prompt: 'the warm morning turns into a cool evening',
      model: 'ray-3-14' as 'ray-2',
      aspect_ratio: '16:9' as const,
      duration: '5s',
      resolution: '540p',
      keyframes: {
        frame0: { type: 'image' as const, url: `${server.origin}/frames/warm.png` },
        frame1: { type: 'image' as const, url: `${server.origin}/frames/cool.png` },
      },
    };
    const created = await client.generations.video.create(body);
    expect(created.request).toEqual(body);
    const done = await settle(client, created.id!);
    expect(done.failure_reason ?? null).toBeNull();
    expect(done.state).toBe('completed');

    const video = path.join(work, 'clip.mp4');
    expect(await download(done.assets!.video!, video)).toBe('video/mp4');
    const probe = await probeVideo(video);
    expect(probe).toMatchObject({ codec: 'h264', width: 960, height: 540, pixelFormat: 'yuv420p', fps: 24 });
    expect(probe.frames).toBe(120);
    expect(Math.abs(probe.durationSeconds - 5)).toBeLessThanOrEqual(1 / 24);
    // A keyframe every second, so a stitch can copy between them (docs/emulator.md).
    expect(await keyframeTimes(video)).toEqual([0, 1, 2, 3, 4]);

    const first = path.join(work, 'first.png');
    const last = path.join(work, 'last.png');
    await Promise.all([extractFrame(video, 'first', first), extractFrame(video, 'last', last)]);
    const between = await meanAbsDiff(warm, cool);
    const firstVsFrame0 = await meanAbsDiff(first, warm);
    const lastVsFrame1 = await meanAbsDiff(last, cool);
    expect(firstVsFrame0).toBeLessThan(8);
    expect(lastVsFrame1).toBeLessThan(8);
    expect(firstVsFrame0 * 5).toBeLessThan(between);
    expect(lastVsFrame1 * 5).toBeLessThan(between);

    const thumbnail = path.join(work, 'thumbnail.jpg');
    expect(await download(done.assets!.image!, thumbnail)).toBe('image/jpeg');
    // Browsers seek in a clip with range requests.
    const partial = await fetch(done.assets!.video!, { headers: { range: 'bytes=0-99' } });
    expect(partial.status).toBe(206);
    expect((await partial.arrayBuffer()).byteLength).toBe(100);
  });

  it('starts a clip on the picture of an earlier image generation referenced by id', async () => {
    const image = await client.generations.image.create({
      prompt: 'a lighthouse on a cliff',
      model: 'photon-1',
      aspect_ratio: '16:9',
      format: 'png',
    });
    const picture = await settle(client, image.id!);
    const pictureFile = path.join(work, 'lighthouse.png');
    await download(picture.assets!.image!, pictureFile);

    const created = await client.generations.video.create({
      prompt: 'the camera pushes in on the lighthouse',
      model: 'ray-2',
      resolution: '540p',
      keyframes: { frame0: { type: 'generation', id: image.id! } },
    });
    const done = await settle(client, created.id!);
    expect(done.state).toBe('completed');
    const video = path.join(work, 'from-generation.mp4');
    await download(done.assets!.video!, video);
    const first = path.join(work, 'from-generation-first.png');
    await extractFrame(video, 'first', first);
    expect(await meanAbsDiff(first, pictureFile)).toBeLessThan(8);
  });
});
