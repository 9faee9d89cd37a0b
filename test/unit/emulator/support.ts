import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import LumaAI from 'lumaai';
import type { Generation } from 'lumaai/resources/generations/generations';
import sharp from 'sharp';

// The media tests' probe, so a keyframe is read one way in every test.
export { keyframeTimes } from '../media/helpers';

const exec = promisify(execFile);

/** A client of the emulator built exactly as reelflow builds one for Luma. */
export function lumaClient(
  baseURL: string,
  authToken: string,
  options: { maxRetries?: number; timeout?: number } = {}
) {
  return new LumaAI({ authToken, baseURL, maxRetries: options.maxRetries ?? 0, timeout: options.timeout });
}

/** Polls `generations.get` until the generation completes or fails. */
export async function settle(client: LumaAI, id: string, deadlineMs = 60_000): Promise<Generation> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const generation = await client.generations.get(id);
    if (generation.state === 'completed' || generation.state === 'failed') return generation;
    if (Date.now() > until) throw new Error(`generation ${id} still ${generation.state} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<InstanceType<typeof LumaAI.APIError>> {
  try {
    await promise;
  } catch (err) {
    return err as InstanceType<typeof LumaAI.APIError>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The `detail` of an API error body. */
export function detailOf(err: InstanceType<typeof LumaAI.APIError>): string {
  return String((err.error as { detail?: unknown } | undefined)?.detail ?? '');
}

/** A smooth test picture (gradient plus one shape), so encoding loss stays small. */
export function keyframePng(width: number, height: number, look: 'warm' | 'cool'): Promise<Buffer> {
  const [from, to, shape] =
    look === 'warm'
      ? ['#f2a33a', '#b1242c', `<circle cx="${width * 0.3}" cy="${height * 0.5}" r="${height * 0.3}" fill="#ffe9a8"/>`]
      : [
          '#1b3a8a',
          '#29b3c9',
          `<rect x="${width * 0.55}" y="${height * 0.2}" width="${width * 0.3}" height="${height * 0.5}" fill="#0b1430"/>`,
        ];
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${from}"/>` +
    `<stop offset="1" stop-color="${to}"/></linearGradient></defs>` +
    `<rect width="${width}" height="${height}" fill="url(#g)"/>${shape}</svg>`;
  return sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();
}

/** A local HTTP server standing in for reelflow's: serves keyframe files and records callbacks. */
export interface TestServer {
  origin: string;
  /** Bodies POSTed to /callback... (answered 200; /callback-broken... answered 500), in arrival order. */
  callbacks: Array<{ url: string; body: Generation }>;
  /** Serves `body` at `path` with `contentType`. */
  serve(path: string, body: Buffer, contentType: string): void;
  close(): Promise<void>;
}

/** Starts the stand-in server on 127.0.0.1 with a free port. */
export async function startTestServer(): Promise<TestServer> {
  const files = new Map<string, { body: Buffer; contentType: string }>();
  const callbacks: TestServer['callbacks'] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'POST' && url.startsWith('/callback')) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        callbacks.push({ url, body: JSON.parse(Buffer.concat(chunks).toString()) as Generation });
        // A receiver under /callback-broken always fails, to observe the sender's retries.
        res.writeHead(url.startsWith('/callback-broken') ? 500 : 200).end();
      });
      return;
    }
    const file = files.get(url);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.body.length }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    callbacks,
    serve: (path, body, contentType) => void files.set(path, { body, contentType }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits until `check` holds, polling every 25 ms. */
export async function eventually(check: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Downloads an asset URL to a file; resolves with its content type. */
export async function download(url: string, file: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  return response.headers.get('content-type') ?? '';
}

/** What ffprobe says about a video file's first video stream. */
export interface VideoProbe {
  codec: string;
  width: number;
  height: number;
  pixelFormat: string;
  fps: number;
  frames: number;
  durationSeconds: number;
}

/** Probes a local video with ffprobe. */
export async function probeVideo(file: string): Promise<VideoProbe> {
  const { stdout } = await exec('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_frames',
    '-show_entries',
    'stream=codec_name,width,height,pix_fmt,r_frame_rate,nb_read_frames:format=duration',
    '-of',
    'json',
    file,
  ]);
  const info = JSON.parse(stdout) as {
    streams: Array<Record<string, string | number>>;
    format: { duration: string };
  };
  const s = info.streams[0];
  const [num, den] = String(s.r_frame_rate).split('/').map(Number);
  return {
    codec: String(s.codec_name),
    width: Number(s.width),
    height: Number(s.height),
    pixelFormat: String(s.pix_fmt),
    fps: num / den,
    frames: Number(s.nb_read_frames),
    durationSeconds: Number(info.format.duration),
  };
}

/** Extracts the first (or the true last) frame of a local video as PNG. */
export async function extractFrame(video: string, which: 'first' | 'last', png: string): Promise<void> {
  const args =
    which === 'first'
      ? ['-nostdin', '-v', 'error', '-y', '-i', video, '-frames:v', '1', png]
      : ['-nostdin', '-v', 'error', '-y', '-sseof', '-1', '-i', video, '-update', '1', '-q:v', '1', png];
  await exec('ffmpeg', args);
}

/** Mean absolute difference of two same-size pictures over all RGB samples, on 0..255. */
export async function meanAbsDiff(a: Buffer | string, b: Buffer | string): Promise<number> {
  const [x, y] = await Promise.all(
    [a, b].map((img) => sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true }))
  );
  if (x.info.width !== y.info.width || x.info.height !== y.info.height) {
    throw new Error(`sizes differ: ${x.info.width}x${x.info.height} vs ${y.info.width}x${y.info.height}`);
  }
  let sum = 0;
  for (let i = 0; i < x.data.length; i++) sum += Math.abs(x.data[i] - y.data[i]);
  return sum / x.data.length;
}
