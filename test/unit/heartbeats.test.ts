import { MockActivityEnvironment } from '@temporalio/testing';
import LumaAI from 'lumaai';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { createLocalAssetStore } from '../../assets';
import { createGenerationActivities } from '../../activities/generations';
import { createLumaProvider } from '../../providers/luma';
import { createMediaActivities } from '../../activities/media';
import { startEmulator } from '../../emulator';
import { setFaults } from '../../emulator/admin';
import { makeClip, makeTempDir, removeDir } from './media/helpers';

// Every activity that can outlive its heartbeat timeout proves it is alive while it works, not only at the end:
// here each is made slow (a server that trickles bytes, a slow status read) and must heartbeat during the wait.

let dir: string;
let server: http.Server;
let base: string;
const files = new Map<string, Buffer>();

beforeAll(async () => {
  dir = await makeTempDir('reelflow-heartbeats-');
  files.set(
    '/clip.mp4',
    await readFile(await makeClip(path.join(dir, 'fixture.mp4'), { seconds: 2, size: '320x180' }))
  );
  files.set(
    '/frame.png',
    await sharp({ create: { width: 320, height: 180, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer()
  );
  // Sends each file in 8 pieces over about 2.4 s.
  server = http.createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length });
    const piece = Math.ceil(body.length / 8);
    let at = 0;
    const timer = setInterval(() => {
      res.write(body.subarray(at, at + piece));
      at += piece;
      if (at >= body.length) {
        clearInterval(timer);
        res.end();
      }
    }, 300);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await removeDir(dir);
});

function media() {
  return createMediaActivities({
    assets: createLocalAssetStore({
      root: path.join(dir, 'assets'),
      publicBaseUrl: 'http://127.0.0.1:1',
      secret: 'heartbeat-test-secret',
    }),
    providerHosts: [new URL(base).host],
    allowPrivateInputs: true,
    maxDownloadBytes: 50 * 1024 * 1024,
    maxAudioSeconds: 3600,
  });
}

/** Runs an activity in a mock context and counts the heartbeats it sends while it runs. */
async function heartbeatsOf<T>(fn: () => Promise<T>): Promise<{ result: T; beats: number }> {
  const env = new MockActivityEnvironment({ startToCloseTimeoutMs: 120_000, heartbeatTimeoutMs: 1000 });
  let beats = 0;
  env.on('heartbeat', () => beats++);
  const result = (await env.run(fn)) as T;
  return { result, beats };
}

test('ingesting a clip from a slow provider heartbeats while it downloads', async () => {
  const { result, beats } = await heartbeatsOf(() =>
    media().ingestClip({
      storyId: 's1',
      name: 'run-1/clips/shot-1-attempt-1.mp4',
      url: `${base}/clip.mp4`,
      expected: { durationSeconds: 2, width: 320, height: 180 },
    })
  );
  expect(result.path).toMatch(/clips\/shot-1-attempt-1\.mp4$/);
  expect(beats).toBeGreaterThanOrEqual(2);
});

test('ingesting a keyframe from a slow provider heartbeats while it downloads', async () => {
  const { beats } = await heartbeatsOf(() =>
    media().ingestKeyframe({
      storyId: 's1',
      name: 'run-1/keyframes/b0-v0.png',
      source: { providerUrl: `${base}/frame.png` },
      width: 320,
      height: 180,
    })
  );
  expect(beats).toBeGreaterThanOrEqual(2);
});

test('cutting the last frame heartbeats from its start', async () => {
  const clip = await makeClip(path.join(dir, 'assets', 's1', 'long.mp4'), { seconds: 2, size: '320x180' });
  const { beats } = await heartbeatsOf(() =>
    media().cutLastFrame({ storyId: 's1', name: 'run-1/last.png', clipPath: clip })
  );
  expect(beats).toBeGreaterThanOrEqual(1);
});

test('the first poll of a generation heartbeats before the provider answers a slow status read', async () => {
  const emulator = await startEmulator({ port: 0, keys: ['hb-key'], imageLatencyMs: 100 });
  try {
    const luma = createGenerationActivities({
      providers: {
        luma: createLumaProvider({
          luma: new LumaAI({ authToken: 'hb-key', baseURL: emulator.baseUrl, maxRetries: 0 }),
          callbackBaseUrl: 'http://127.0.0.1:9',
          timings: { pollIntervalMs: 50, createTimeoutMs: 5000, listTimeoutMs: 5000 },
        }),
      },
      clockSkewMs: 1000,
      providerUrl: async (url) => url,
    });
    const { result: submitted } = await heartbeatsOf(() =>
      luma.submitImageGeneration({
        key: 'hb/1',
        sinceMs: Date.now(),
        prompt: 'a lighthouse',
        model: 'photon-flash-1',
        aspectRatio: '16:9',
      })
    );
    // Every read now takes 1.5 s: the poll must have said it is alive before the first answer.
    await setFaults(emulator.origin, { extraLatencyMs: 1500, scope: 'all' });
    const env = new MockActivityEnvironment({ startToCloseTimeoutMs: 120_000, heartbeatTimeoutMs: 1000 });
    const beatsAt: number[] = [];
    const started = Date.now();
    env.on('heartbeat', () => beatsAt.push(Date.now() - started));
    await env.run(() => luma.pollGeneration({ generationId: submitted.generationId, windowMs: 5000 }));
    expect(beatsAt[0]).toBeLessThan(1000);
  } finally {
    await emulator.close();
  }
});
