import { HeadObjectCommand, ListMultipartUploadsCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createLocalAssetStore,
  createS3AssetStore,
  defaultS3Client,
  MAX_PRESIGN_SECONDS,
  needsPathStyle,
  type AssetStore,
} from '../../assets';
import { startS3Server, type S3ServerKind, type S3TestServer } from '../helpers/s3-server';

// The asset store's two backends through the one interface: bytes in and out, atomic and conditional writes, and the
// URLs handed out. The S3 backend runs against real S3-compatible servers on loopback (moto, and versitygw, which
// also checks presigned signatures and expiries).

const scratch = mkdtempSync(path.join(os.tmpdir(), 'reelflow-asset-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** A scratch file with `bytes` in it. */
function fileWith(bytes: Buffer | string): string {
  const file = path.join(scratch, `in-${n++}.bin`);
  writeFileSync(file, bytes);
  return file;
}
const out = (name: string) => path.join(scratch, `out-${n++}-${name}`);

/** What both backends must do alike. */
function behavesAsAStore(open: () => AssetStore) {
  test('a put file comes back byte for byte; the reference names the store key', async () => {
    const store = open();
    const ref = store.ref('story-1', 'run-ab12cd34/keyframes/b0-v1.png');
    expect(ref.key).toBe('story-1/run-ab12cd34/keyframes/b0-v1.png');
    const bytes = randomBytes(70_000);
    expect(await store.put(fileWith(bytes), ref)).toBe('written');
    const copy = out('b0.png');
    await store.get(ref, copy);
    expect(readFileSync(copy).equals(bytes)).toBe(true);
    expect(store.find(ref.url)?.key).toBe(ref.key);
  });

  test('a complete object is never replaced: the same bytes again are fine, other bytes leave the first', async () => {
    const store = open();
    const ref = store.ref('story-1', 'run-1/clips/shot-1-attempt-1.mp4');
    expect(await store.put(fileWith('first take'), ref)).toBe('written');
    expect(await store.put(fileWith('first take'), ref)).toBe('same');
    expect(await store.put(fileWith('a twin attempt made other bytes'), ref)).toBe('kept-existing');
    const copy = out('clip.mp4');
    await store.get(ref, copy);
    expect(readFileSync(copy, 'utf8')).toBe('first take');
  });

  test('two twins writing one name at once: exactly one wins, and what is stored is the winner, whole', async () => {
    const store = open();
    const ref = store.ref('story-1', 'run-1/output/story.mp4');
    const a = randomBytes(300_000);
    const b = randomBytes(300_000);
    const outcomes = await Promise.all([store.put(fileWith(a), ref), store.put(fileWith(b), ref)]);
    expect(outcomes.filter((o) => o === 'written')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'kept-existing')).toHaveLength(1);
    const copy = out('story.mp4');
    await store.get(ref, copy);
    expect(readFileSync(copy).equals(outcomes[0] === 'written' ? a : b)).toBe(true);
  });

  test('getting a file the store does not hold fails clearly', async () => {
    const store = open();
    await expect(store.get(store.ref('story-1', 'run-1/nothing.png'), out('x'))).rejects.toThrow(
      /asset not in the store/
    );
    await expect(store.get({ url: 'https://elsewhere.example/x.png' }, out('x'))).rejects.toThrow(/not a file of/);
    expect(() => store.ref('story-1', '../escape.png')).toThrow(/unsafe asset name/);
    expect(store.find('a prompt, not a file')).toBeUndefined();
  });
}

describe('local store', () => {
  const root = path.join(scratch, 'local-root');
  const open = () => createLocalAssetStore({ root, publicBaseUrl: 'http://127.0.0.1:1', secret: 'local-store-secret' });
  behavesAsAStore(open);

  test('writes leave no scratch file behind, and older {path, url} references still resolve', async () => {
    const store = open();
    const ref = store.ref('story-2', 'run-1/frames/shot-1-last.png');
    await store.put(fileWith('frame'), ref);
    await store.put(fileWith('other frame'), ref);
    expect(readdirSync(path.dirname(ref.path!))).toEqual(['shot-1-last.png']);
    const older = { path: ref.path!, url: ref.url };
    const copy = out('older.png');
    await store.get(older, copy);
    await store.get(ref.path!, out('by-path.png'));
    expect(readFileSync(copy, 'utf8')).toBe('frame');
  });
});

describe.each<S3ServerKind>(['moto', 'versitygw'])('S3 store on %s', (kind) => {
  let server: S3TestServer;
  let bucket: string;
  const open = (now?: () => number) =>
    createS3AssetStore({ bucket, prefix: 'studio/assets', client: server.client, now });

  beforeAll(async () => {
    server = await startS3Server(kind);
    bucket = await server.createBucket();
  }, 60_000);
  afterAll(() => server?.stop());

  behavesAsAStore(() => open());

  test('references are s3:// URLs under the prefix, with no local path', () => {
    const ref = open().ref('story-1', 'run-1/keyframes/b0-v0.png');
    expect(ref).toEqual({
      key: 'story-1/run-1/keyframes/b0-v0.png',
      url: `s3://${bucket}/studio/assets/story-1/run-1/keyframes/b0-v0.png`,
    });
  });

  test('a big file goes up in parts and is just as conditional', async () => {
    const store = createS3AssetStore({ bucket, prefix: 'big', client: server.client, partSize: 5 * 1024 * 1024 });
    const ref = store.ref('story-1', 'run-1/output/story.mp4');
    const bytes = randomBytes(11 * 1024 * 1024);
    expect(await store.put(fileWith(bytes), ref)).toBe('written');
    expect(await store.put(fileWith(randomBytes(11 * 1024 * 1024)), ref)).toBe('kept-existing');
    const copy = out('big.mp4');
    await store.get(ref, copy);
    expect(readFileSync(copy).equals(bytes)).toBe(true);
  });

  test('an upload stopped half-way leaves no object under the name, and no parts', async () => {
    const store = createS3AssetStore({ bucket, prefix: 'aborted', client: server.client, partSize: 5 * 1024 * 1024 });
    const ref = store.ref('story-1', 'run-1/output/story.mp4');
    const stop = new AbortController();
    const put = store.put(fileWith(randomBytes(60 * 1024 * 1024)), ref, { signal: stop.signal });
    const failed = put.then(
      () => undefined,
      (err: unknown) => err
    );
    // Stopped once the server holds a part of it: half an object exists, under no name.
    for (;;) {
      const { Uploads = [] } = await server.client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'aborted/' })
      );
      const parts = Uploads[0]
        ? await server.client.send(
            new ListPartsCommand({ Bucket: bucket, Key: Uploads[0].Key!, UploadId: Uploads[0].UploadId! })
          )
        : undefined;
      if (parts?.Parts?.length) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    stop.abort();
    expect(await failed).toBeInstanceOf(Error);
    await expect(
      server.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `aborted/${ref.key}` }))
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await expect(store.get(ref, out('none'))).rejects.toThrow(/asset not in the store/);
    const left = await server.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'aborted/' }));
    expect(left.Uploads ?? []).toEqual([]);
  });

  test('a presigned URL fetches the file with plain HTTP, with its type; the bare object URL does not', async () => {
    const store = open();
    const ref = store.ref('story-3', 'run-1/keyframes/b0-v0.png');
    const bytes = randomBytes(5000);
    await store.put(fileWith(bytes), ref);
    const signed = await store.signUrl(ref.url, 3600);
    const url = new URL(signed);
    expect(`${url.origin}${url.pathname}`).toBe(`${server.endpoint}/${bucket}/studio/assets/${ref.key}`);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeGreaterThanOrEqual(3600);
    const answer = await fetch(signed);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await answer.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(`${url.origin}${url.pathname}`)).status).toBe(403);
    // Within one expiry step the same file gets the same URL (the review page polls every second).
    expect(await store.signUrl(ref.url, 3600)).toBe(signed);
    expect(await store.signUrl('https://provider.example/a.mp4', 60)).toBe('https://provider.example/a.mp4');
  });

  test('no presigned URL outlives what SigV4 allows: a webhook URL is valid for 7 days at most', async () => {
    const signed = new URL(await open().signUrl(open().ref('story-3', 'run-1/x.png').url, 7 * 24 * 3600));
    expect(Number(signed.searchParams.get('X-Amz-Expires'))).toBe(MAX_PRESIGN_SECONDS);
  });

  if (kind === 'versitygw') {
    // moto accepts any presigned signature and expiry, so only a server that checks them can prove these.
    test('a tampered, expired or other-file presigned URL is refused by the server', async () => {
      const store = open();
      const ref = store.ref('story-4', 'run-1/keyframes/b0-v0.png');
      const other = store.ref('story-4', 'run-1/keyframes/b1-v0.png');
      await store.put(fileWith('b0'), ref);
      await store.put(fileWith('b1'), other);
      const signed = new URL(await store.signUrl(ref.url, 600));
      expect((await fetch(signed)).status).toBe(200);
      const sig = signed.searchParams.get('X-Amz-Signature')!;
      const tampered = new URL(signed);
      tampered.searchParams.set('X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
      const longer = new URL(signed);
      longer.searchParams.set('X-Amz-Expires', String(Number(signed.searchParams.get('X-Amz-Expires')) + 3600));
      const otherFile = new URL(signed);
      otherFile.pathname = otherFile.pathname.replace('b0-v0', 'b1-v0');
      const expired = await open(() => Date.now() - 7200_000).signUrl(ref.url, 60);
      for (const [what, url] of [
        ['tampered', tampered],
        ['longer expiry', longer],
        ['other file', otherFile],
        ['expired', expired],
      ] as const) {
        expect({ what, status: (await fetch(url)).status }).toEqual({ what, status: 403 });
      }
    });
  }
});

test('the default client is configured by the AWS settings alone, path-style where the endpoint needs it', async () => {
  expect(needsPathStyle(undefined)).toBe(false);
  expect(needsPathStyle('https://s3.eu-west-1.amazonaws.com')).toBe(false);
  expect(needsPathStyle('https://storage.example.com')).toBe(false);
  expect(needsPathStyle('http://127.0.0.1:5000')).toBe(true);
  expect(needsPathStyle('http://[::1]:5000')).toBe(true);
  expect(needsPathStyle('http://localhost:5000')).toBe(true);
  expect(needsPathStyle('http://s3:5000')).toBe(true);
  const server = await startS3Server('moto');
  const saved = { ...process.env };
  try {
    Object.assign(process.env, server.env);
    const bucket = await server.createBucket();
    const client = await defaultS3Client();
    expect(await client.config.forcePathStyle).toBe(true);
    const store = createS3AssetStore({ bucket, prefix: '', client });
    const ref = store.ref('story-5', 'run-1/x.png');
    await store.put(fileWith('via the settings'), ref);
    expect(await (await fetch(await store.signUrl(ref.url, 60))).text()).toBe('via the settings');
    client.destroy();
  } finally {
    process.env = saved;
    await server.stop();
  }
}, 60_000);
