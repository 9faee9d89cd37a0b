import { execFile, type ChildProcess } from 'node:child_process';
import { promises as fs, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { probeMedia } from '../../activities/ffmpeg';
import { ReelflowError } from '../../client/reelflow-client';
import { getStats } from '../../emulator/admin';
import { storyResultSchema } from '../../server/api/schemas';
import { goodAudio, goodKeyframe, writeBadInputs, type BadInputs } from '../helpers/bad-inputs';
import { ledgerOf } from '../helpers/ledger';
import { killed, spawnWorker } from '../helpers/processes';
import { eventually, startTestStack, waitForStage, type TestStack } from '../helpers/stack';
import { smallStory } from '../helpers/stories';

// Bad supplied inputs are found before anything is paid, at every door: the library and the CLI check local files
// before the story starts; the story checks every input (files and URLs) before its budget check and its first
// paid call. And whatever happens, the media work leaves nothing in the system temp dir: the worker runs in its own
// process with a private TMPDIR, and so does the CLI.

const run = promisify(execFile);
const bin = path.resolve(__dirname, '../../bin/reelflow.cjs');

let stack: TestStack;
let worker: ChildProcess;
let fixtures: string;
let tmp: string;
let bad: BadInputs;
let good: { a: string; b: string; c: string; audio: string };
let files: http.Server;
let filesBase: string;
const requests: string[] = [];

/** Names in the private TMPDIR that the media activities or the CLI left there. */
const leftovers = () => readdirSync(tmp).filter((name) => name.startsWith('reelflow-'));

beforeAll(async () => {
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'precheck-fixtures-'));
  tmp = mkdtempSync(path.join(os.tmpdir(), 'precheck-tmpdir-'));
  bad = await writeBadInputs(fixtures);
  good = {
    a: await goodKeyframe(path.join(fixtures, 'a.png'), '#aa3322'),
    b: await goodKeyframe(path.join(fixtures, 'b.png'), '#22aa33'),
    c: await goodKeyframe(path.join(fixtures, 'c.png'), '#2233aa'),
    audio: await goodAudio(path.join(fixtures, 'music.wav'), 4),
  };
  // Serves the fixtures by name, as a user's CDN would; /trickle.png sends 10 bytes every 200 ms, forever.
  files = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/trickle.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      const timer = setInterval(() => res.write(Buffer.alloc(10)), 200);
      res.on('close', () => clearInterval(timer));
      return;
    }
    const file = path.join(fixtures, path.basename(req.url ?? ''));
    fs.readFile(file).then(
      (body) => res.writeHead(200).end(body),
      () => res.writeHead(404).end()
    );
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesBase = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  stack = await startTestStack({ startWorkers: false });
  worker = spawnWorker(stack, 'precheck', { TMPDIR: tmp });
});
afterAll(async () => {
  if (worker) await killed(worker);
  await stack?.close();
  files?.closeAllConnections();
  await new Promise((resolve) => files?.close(resolve));
  rmSync(fixtures, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

const url = (file: string) => `${filesBase}/${path.basename(file)}`;

async function post(body: unknown): Promise<{ status: number; body: { id?: string; error?: { fields?: unknown } } }> {
  const res = await fetch(`${stack.config.http.publicUrl}/v1/stories`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function resultOf(id: string) {
  const res = await fetch(`${stack.config.http.publicUrl}/v1/stories/${id}/result`);
  return storyResultSchema.parse(await res.json());
}

test('bad keyframes and audio sent through the API are refused by the story, every field named, 0 credits', async () => {
  const created = await (async () => {
    const before = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
    const answer = await post({
      id: 'precheck-api',
      story: smallStory({
        shots: 4,
        keyframes: [url(bad.bomb), null, url(bad.svg), url(bad.randomPng), url(good.a)],
        audio: { src: url(bad.tenHours) },
        review: { keyframes: false },
      }),
    });
    return { answer, before };
  })();
  expect(created.answer.status).toBe(201);
  const result = await resultOf('precheck-api');
  expect(result.status).toBe('failed');
  expect(result.error).toMatch(/^invalid story: keyframes\[0\]: /);
  expect(result.error).toMatch(/keyframes\[0\]: http:\/\/127\.0\.0\.1:\d+\/bomb\.png: 20000x20000 is more than 50 Mpx/);
  expect(result.error).toMatch(/keyframes\[2\]: [^;]*an (SVG|XML\/HTML) document, not a JPEG, PNG or WebP image/);
  expect(result.error).toMatch(/keyframes\[3\]: [^;]*unknown bytes, not a JPEG, PNG or WebP image/);
  expect(result.error).toMatch(/audio\.src: [^;]*10:00:00 long; audio may be at most 1:00:00/);
  expect(result.error).not.toMatch(/keyframes\[4\]/);
  // Nothing was created at Luma for this story: the emulator's ledger has no key of it, and charged nothing.
  const ledger = await ledgerOf(stack, 'precheck-api');
  expect(ledger.keys).toEqual({});
  expect(ledger.netCredits).toBe(0);
  expect(result.credits).toBe(0);
  const after = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  expect(after.created).toBe(created.before.created);
});

test('audio that is not audio fails the story before any keyframe or clip is paid (not at the stitch)', async () => {
  const answer = await post({
    id: 'precheck-audio',
    story: smallStory({ shots: 2, audio: { src: url(bad.noiseMp3) }, review: { keyframes: false } }),
  });
  expect(answer.status).toBe(201);
  const result = await resultOf('precheck-audio');
  expect(result.status).toBe('failed');
  expect(result.error).toMatch(/^invalid story: audio\.src: http:\/\/127\.0\.0\.1:\d+\/noise\.mp3: not an audio file/);
  expect((await ledgerOf(stack, 'precheck-audio')).keys).toEqual({});
  expect(result.credits).toBe(0);
});

test('the library refuses bad local files before the story starts, naming each field; nothing starts', async () => {
  const story = smallStory({
    shots: 2,
    keyframes: [bad.truncatedPng, bad.gif, path.join(fixtures, 'missing.png')],
    audio: { src: bad.pictureWav },
  });
  const refused = await stack.client.start(story, { storyId: 'precheck-local' }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ReelflowError);
  const error = refused as ReelflowError;
  expect(error.code).toBe('invalid');
  expect(error.fields?.map((f) => f.field)).toEqual(['keyframes[0]', 'keyframes[1]', 'keyframes[2]', 'audio.src']);
  expect(error.message).toMatch(/keyframes\[0\]: truncated\.png: cannot be decoded/);
  expect(error.message).toMatch(/keyframes\[1\]: animated\.gif: a GIF image/);
  expect(error.message).toMatch(/keyframes\[2\]: [^;]*missing\.png: no such file/);
  expect(error.message).toMatch(/audio\.src: picture\.wav: not an audio file/);
  await expect(stack.client.progress('precheck-local')).rejects.toMatchObject({ code: 'not-found' });
});

test('good supplied inputs are fetched once: no keyframe round, and the video carries the audio', async () => {
  const before = requests.length;
  const answer = await post({
    id: 'precheck-good',
    story: smallStory({
      shots: 2,
      keyframes: [url(good.a), url(good.b), url(good.c)],
      audio: { src: url(good.audio) },
      review: { keyframes: false },
      transition: { crossfade: 0 },
    }),
  });
  expect(answer.status).toBe(201);
  const result = await resultOf('precheck-good');
  expect(result.status).toBe('completed');
  expect(requests.slice(before).sort()).toEqual(['/a.png', '/b.png', '/c.png', '/music.wav']);
  // Only the two clips were paid for.
  const ledger = await ledgerOf(stack, 'precheck-good');
  expect(Object.keys(ledger.keys).every((k) => k.includes('/shot/'))).toBe(true);
  expect(Object.keys(ledger.keys)).toHaveLength(2);
  expect(result.credits).toBeCloseTo(ledger.netCredits, 4);
  const progress = await stack.client.progress('precheck-good');
  expect(progress.keyframes.map((k) => k.variations.map((v) => v.supplied))).toEqual([[true], [true], [true]]);
  const video = await probeMedia(progress.output!.video.path!);
  expect(video.audioCodec).toBe('aac');
  expect(video.durationSeconds).toBeCloseTo(10, 0);
});

test('cancelled while it fetches a trickling input, the story leaves no scratch directory behind', async () => {
  await stack.client.start(
    smallStory({ shots: 1, keyframes: [`${filesBase}/trickle.png`, null], review: { keyframes: false } }),
    { storyId: 'precheck-cancel' }
  );
  await eventually(
    async () => (requests.includes('/trickle.png') && leftovers().length > 0 ? true : undefined),
    60_000,
    'the input check to be downloading'
  );
  await stack.client.cancel('precheck-cancel');
  const result = await stack.client.result('precheck-cancel');
  expect(result.status).toBe('cancelled');
  expect((await ledgerOf(stack, 'precheck-cancel')).keys).toEqual({});
  // The activity hears the cancellation with its next heartbeat, stops the download and removes its directory.
  await eventually(async () => (leftovers().length === 0 ? true : undefined), 150_000, 'the scratch directory to go');
});

test('a CLI run and every story above leave no reelflow-* directory in the private TMPDIR', async () => {
  const dir = mkdtempSync(path.join(fixtures, 'cli-'));
  const file = path.join(dir, 'story.yaml');
  writeFileSync(
    file,
    YAML.stringify(smallStory({ shots: 1, keyframes: [good.a, good.b], review: { keyframes: false } }))
  );
  const { stdout } = await run(process.execPath, [bin, 'start', file, '--id', 'precheck-cli', '--wait', '--json'], {
    env: { ...process.env, ...stack.env, TMPDIR: tmp },
  });
  expect(JSON.parse(stdout.slice(stdout.indexOf('{'))).status).toBe('completed');
  await waitForStage(stack, 'precheck-cli', 'completed');
  expect(leftovers()).toEqual([]);
});
