import { MockActivityEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { createMediaActivities } from '../../../activities/media';
import { normalizeImage } from '../../../activities/images';
import { createLocalAssetStore } from '../../../assets';
import { FailureType } from '../../../common/failures';
import type { CheckedInputs } from '../../../common/messages';
import type { SuppliedInput } from '../../../common/story';
import { checkAudioFile, checkImageFile } from '../../../inputs';
import { goodAudio, goodKeyframe, writeBadInputs, type BadInputs } from '../../helpers/bad-inputs';
import { expectNonRetryable, makeTempDir, removeDir } from './helpers';

// The checks of supplied inputs (inputs/, shared by the client library and the media activities) and the activity
// that runs them before a story pays for anything.

let dir: string;
let bad: BadInputs;
let good: { png: string; jpeg: string; webp: string; wav: string };
let server: http.Server;
let base: string;
const requests: string[] = [];

beforeAll(async () => {
  dir = await makeTempDir('reelflow-inputs-test-');
  // Records every request: the SVG points here, and nothing may ever come.
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const served: Record<string, string> = { '/good.png': good.png, '/bomb.png': bad.bomb };
    if (req.url === '/trickle.png') {
      res.writeHead(200, { 'content-length': 1_000_000 });
      const timer = setInterval(() => res.write(Buffer.alloc(10)), 200);
      res.on('close', () => clearInterval(timer));
      return;
    }
    const file = served[req.url ?? ''];
    if (!file) return void res.writeHead(404).end();
    void fs.readFile(file).then((body) => res.writeHead(200, { 'content-type': 'image/png' }).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  bad = await writeBadInputs(dir, `${base}/svg-reference.png`);
  const png = await goodKeyframe(path.join(dir, 'good.png'));
  good = {
    png,
    jpeg: (await sharp(png).jpeg().toFile(path.join(dir, 'good.jpg')), path.join(dir, 'good.jpg')),
    webp: (await sharp(png).webp().toFile(path.join(dir, 'good.webp')), path.join(dir, 'good.webp')),
    wav: await goodAudio(path.join(dir, 'good.wav'), 3),
  };
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await removeDir(dir);
});

describe('image inputs', () => {
  test.each([
    ['bomb', /^bomb\.png: 20000x20000 is more than 50 Mpx$/],
    ['truncatedPng', /^truncated\.png: cannot be decoded/],
    ['randomPng', /^random\.png: unknown bytes, not a JPEG, PNG or WebP image$/],
    ['svg', /^external\.svg: an (SVG|XML\/HTML) document, not a JPEG, PNG or WebP image$/],
    ['gif', /^animated\.gif: a GIF image, not a JPEG, PNG or WebP image$/],
    ['animatedWebp', /^animated\.webp: an animated image \(5 frames\); give a still JPEG, PNG or WebP$/],
  ] as Array<[keyof BadInputs, RegExp]>)('%s is refused naming the file and the reason', async (name, reason) => {
    await expectNonRetryable(checkImageFile(bad[name]), FailureType.BadInput, reason);
    // The activities' own check (normalizeImage) refuses it the same way, and writes nothing.
    const out = path.join(dir, `never-${name}.png`);
    await expectNonRetryable(normalizeImage(bad[name], out, { width: 64, height: 36 }), FailureType.BadInput, reason);
    expect(existsSync(out)).toBe(false);
  });

  test('still JPEG, PNG and WebP are accepted with their size', async () => {
    for (const [format, file] of [
      ['png', good.png],
      ['jpeg', good.jpeg],
      ['webp', good.webp],
    ]) {
      await expect(checkImageFile(file)).resolves.toEqual({
        sourceFormat: format,
        sourceWidth: 640,
        sourceHeight: 360,
      });
    }
  });

  test("an SVG's external references are never followed", async () => {
    await checkImageFile(bad.svg).catch(() => undefined);
    await normalizeImage(bad.svg, path.join(dir, 'svg-out.png'), { width: 64, height: 36 }).catch(() => undefined);
    expect(requests.filter((r) => r.startsWith('/svg-reference'))).toEqual([]);
  });
});

describe('audio inputs', () => {
  test('random bytes, a picture and a ten-hour file are refused naming the file and the reason', async () => {
    await expectNonRetryable(
      checkAudioFile(bad.noiseMp3, { maxSeconds: 3600 }),
      FailureType.BadInput,
      /^noise\.mp3: not an audio file ffprobe can read/
    );
    await expectNonRetryable(
      checkAudioFile(bad.pictureWav, { maxSeconds: 3600 }),
      FailureType.BadInput,
      /^picture\.wav: not an audio file/
    );
    await expectNonRetryable(
      checkAudioFile(bad.tenHours, { maxSeconds: 3600 }),
      FailureType.BadInput,
      /^ten-hours\.flac: 10:00:00 long; audio may be at most 1:00:00 \(REELFLOW_MAX_AUDIO_SECONDS\)$/
    );
  });

  test('a real track within the limit is accepted with its demuxer and length', async () => {
    const info = await checkAudioFile(good.wav, { maxSeconds: 3600 });
    expect(info).toMatchObject({ demuxer: 'wav', codec: 'pcm_s16le' });
    expect(info.durationSeconds).toBeCloseTo(3, 1);
    expect((await checkAudioFile(bad.tenHours)).durationSeconds).toBe(36000);
  });
});

describe('checkSuppliedInputs (the activity a story runs before paying for anything)', () => {
  let tmp: string;
  beforeEach(async () => {
    // A private scratch root per test: whatever the activity leaves behind would show up here.
    tmp = await makeTempDir('inputs-tmp-');
  });
  afterEach(() => removeDir(tmp));

  const leftovers = () => readdirSync(tmp).filter((n) => n.startsWith('reelflow-'));

  function activities(allowPrivateInputs: boolean) {
    const root = path.join(dir, 'assets');
    mkdirSync(root, { recursive: true });
    return createMediaActivities({
      assets: createLocalAssetStore({ root, publicBaseUrl: 'http://127.0.0.1:1', secret: 'inputs-test-secret' }),
      providerHosts: [],
      allowPrivateInputs,
      maxDownloadBytes: 50 * 1024 * 1024,
      maxAudioSeconds: 3600,
      scratchDir: tmp,
    });
  }

  const check = (inputs: SuppliedInput[], allowPrivate: boolean, env = new MockActivityEnvironment()) =>
    env.run(activities(allowPrivate).checkSuppliedInputs, {
      storyId: 'inputs-story',
      assetBase: 'run-1',
      inputs,
      width: 320,
      height: 180,
    }) as Promise<CheckedInputs>;

  const image = (boundary: number, ref: string): SuppliedInput => ({
    field: `keyframes[${boundary}]`,
    kind: 'image',
    ref,
    boundary,
  });

  test('good inputs, local and by URL, are checked once and kept in the store, fitted to the frame', async () => {
    const checked = await check(
      [image(0, good.png), image(1, `${base}/good.png`), { field: 'audio.src', kind: 'audio', ref: good.wav }],
      true
    );
    expect(checked.keyframes.map((k) => [k.boundary, path.basename(k.path!)])).toEqual([
      [0, 'b0-supplied.png'],
      [1, 'b1-supplied.png'],
    ]);
    expect(checked.keyframes[1].url).toBe('http://127.0.0.1:1/assets/inputs-story/run-1/keyframes/b1-supplied.png');
    expect(await sharp(checked.keyframes[1].path!).metadata()).toMatchObject({ width: 320, height: 180 });
    expect(checked.audio?.path).toMatch(/inputs-story\/run-1\/input\/audio\.wav$/);
    expect((await checkAudioFile(checked.audio!.path!)).durationSeconds).toBeCloseTo(3, 1);
    expect(leftovers()).toEqual([]);
  });

  test('every bad input is refused at once, each naming its field and its reason', async () => {
    const refused = check(
      [
        image(0, good.png),
        image(1, `${base}/bomb.png`),
        image(2, bad.svg),
        image(3, bad.truncatedPng),
        image(4, 'file:///etc/passwd'),
        { field: 'audio.src', kind: 'audio', ref: bad.noiseMp3 },
      ],
      true
    );
    await expectNonRetryable(refused, FailureType.BadInput);
    const message = ((await refused.catch((e: Error) => e)) as Error).message;
    expect(message.startsWith('invalid story: keyframes[1]: ')).toBe(true);
    expect(message).toMatch(/keyframes\[1\]: http:\/\/127\.0\.0\.1:\d+\/bomb\.png: 20000x20000 is more than 50 Mpx/);
    expect(message).toMatch(/keyframes\[2\]: external\.svg: an (SVG|XML\/HTML) document/);
    expect(message).toMatch(/keyframes\[3\]: truncated\.png: cannot be decoded/);
    expect(message).toMatch(/keyframes\[4\]: file:\/\/\/etc\/passwd: file: references are not accepted/);
    expect(message).toMatch(/audio\.src: noise\.mp3: not an audio file/);
    expect(message).not.toMatch(/keyframes\[0\]/);
    expect(leftovers()).toEqual([]);
  });

  test('URLs to private addresses, in any form, are refused naming the field, with nothing fetched', async () => {
    const before = requests.length;
    const port = new URL(base).port;
    const refused = check(
      [
        image(0, `${base}/good.png`),
        image(1, 'http://169.254.169.254/latest/meta-data/'),
        image(2, `http://[64:ff9b::7f00:1]:${port}/good.png`),
        image(3, `http://[2002:7f00:1::]:${port}/good.png`),
        image(4, `http://2130706433:${port}/good.png`),
      ],
      false
    );
    const message = ((await refused.catch((e: Error) => e)) as Error).message;
    for (const field of ['keyframes[0]', 'keyframes[1]', 'keyframes[2]', 'keyframes[3]', 'keyframes[4]']) {
      expect(message).toMatch(new RegExp(`${field.replace(/[[\]]/g, '\\$&')}: http://[^;]*private or local address`));
    }
    expect(requests.length).toBe(before);
  });

  test('cancelled while a slow server trickles bytes, it stops and leaves no scratch directory', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 });
    const running = check([image(0, `${base}/trickle.png`)], true, env);
    running.catch(() => undefined);
    // Cancelled mid-download, once its scratch directory exists and the server has begun to answer.
    for (let i = 0; i < 100 && !(leftovers().length === 1 && requests.includes('/trickle.png')); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(leftovers()).toHaveLength(1);
    env.cancel();
    await expect(running).rejects.toThrow();
    expect(leftovers()).toEqual([]);
  });
});
