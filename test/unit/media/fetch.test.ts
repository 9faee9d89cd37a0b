import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { FailureType } from '../../../common/failures';
import { downloadToFile, MAX_REDIRECTS, resolveInputFile } from '../../../activities/fetch';
import { expectNonRetryable, expectRetryable, leftoverTempFiles, makeTempDir, removeDir } from './helpers';

const BODY = randomBytes(1000);

let dir: string;
let server: http.Server;
let base: string;
let hostPort: string;

/** A loopback server with one route per behaviour under test. */
function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  const redirect = (location: string) => void res.writeHead(302, { location }).end();
  const hop = /^\/hop\/(\d+)$/.exec(url.pathname);
  if (hop) return redirect(Number(hop[1]) === 0 ? '/file.bin' : `/hop/${Number(hop[1]) - 1}`);
  switch (url.pathname) {
    case '/file.bin':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
      return void res.end(BODY);
    case '/image.png':
      res.writeHead(200, { 'content-type': 'image/png' });
      return void res.end(BODY);
    case '/to-localhost':
      return redirect(`http://localhost:${url.port}/file.bin`);
    case '/to-elsewhere':
      return redirect('http://example.invalid/file.bin');
    case '/to-ftp':
      return redirect('ftp://example.invalid/file.bin');
    case '/no-location':
      return void res.writeHead(302).end();
    case '/big':
      res.writeHead(200, { 'content-length': 5000 });
      return void res.end(Buffer.alloc(5000));
    case '/big-chunked':
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(500));
      return void res.end();
    case '/short':
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(400));
      return void setTimeout(() => res.destroy(), 20);
    case '/missing':
      return void res.writeHead(404).end('nope');
    case '/busy':
      return void res.writeHead(429).end();
    case '/boom':
      return void res.writeHead(500).end('oops');
    case '/hang':
      return; // never answers
    default:
      res.writeHead(404).end();
  }
}

beforeAll(async () => {
  dir = await makeTempDir();
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  hostPort = `127.0.0.1:${port}`;
  base = `http://${hostPort}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await removeDir(dir);
});

const local = { allowPrivate: true };
const dest = (name: string) => path.join(dir, name);

describe('downloadToFile', () => {
  test('writes the body to the destination and reports its size and type, leaving no temporary file', async () => {
    const result = await downloadToFile(`${base}/file.bin`, dest('file.bin'), local);
    expect(result).toEqual({ bytes: 1000, contentType: 'application/octet-stream', finalUrl: `${base}/file.bin` });
    expect((await fs.readFile(dest('file.bin'))).equals(BODY)).toBe(true);
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test(`follows a chain of ${MAX_REDIRECTS} redirects within the allowed hosts`, async () => {
    const result = await downloadToFile(`${base}/hop/${MAX_REDIRECTS - 1}`, dest('chained.bin'), {
      ...local,
      allowedHosts: [hostPort],
    });
    expect(result.finalUrl).toBe(`${base}/file.bin`);
    expect((await fs.readFile(dest('chained.bin'))).equals(BODY)).toBe(true);
  });

  test('refuses more redirects than the limit', async () => {
    await expectNonRetryable(
      downloadToFile(`${base}/hop/${MAX_REDIRECTS}`, dest('loop.bin'), local),
      FailureType.BadInput,
      /more than 5 redirects/
    );
  });

  test('re-checks every redirect: a hop to a host off the allow list or to another scheme is refused', async () => {
    const opts = { ...local, allowedHosts: [hostPort] };
    await expectNonRetryable(
      downloadToFile(`${base}/to-localhost`, dest('away.bin'), opts),
      FailureType.BadInput,
      /localhost:\d+ is not allowed/
    );
    await expectNonRetryable(
      downloadToFile(`${base}/to-elsewhere`, dest('away.bin'), opts),
      FailureType.BadInput,
      /example\.invalid is not allowed/
    );
    await expectNonRetryable(
      downloadToFile(`${base}/to-ftp`, dest('away.bin'), local),
      FailureType.BadInput,
      /only http and https/
    );
    await expectNonRetryable(
      downloadToFile(`${base}/no-location`, dest('away.bin'), local),
      FailureType.BadInput,
      /without a Location/
    );
    await expect(fs.access(dest('away.bin'))).rejects.toThrow();
  });

  test('an allow-list entry without a port allows the host on any port; another port is refused', async () => {
    await downloadToFile(`${base}/file.bin`, dest('any-port.bin'), { ...local, allowedHosts: ['127.0.0.1'] });
    await expectNonRetryable(
      downloadToFile(`${base}/file.bin`, dest('other-port.bin'), { ...local, allowedHosts: ['127.0.0.1:1'] }),
      FailureType.BadInput,
      /is not allowed/
    );
  });

  test('refuses loopback addresses unless allowPrivate, by literal IP and through DNS', async () => {
    await expectNonRetryable(
      downloadToFile(`${base}/file.bin`, dest('private.bin'), {}),
      FailureType.BadInput,
      /127\.0\.0\.1 is a private or local address/
    );
    const { port } = server.address() as AddressInfo;
    await expectNonRetryable(
      downloadToFile(`http://localhost:${port}/file.bin`, dest('private.bin'), {}),
      FailureType.BadInput,
      /localhost resolves to .* a private or local address/
    );
    await expectNonRetryable(
      downloadToFile(`http://[::ffff:127.0.0.1]:${port}/file.bin`, dest('private.bin'), {}),
      FailureType.BadInput,
      /private or local/
    );
  });

  test('refuses a body over maxBytes, announced or streamed, and leaves no file behind', async () => {
    await expectNonRetryable(
      downloadToFile(`${base}/big`, dest('big.bin'), { ...local, maxBytes: 1000 }),
      FailureType.BadInput,
      /5000 bytes is more than the 1000 byte limit/
    );
    await expectNonRetryable(
      downloadToFile(`${base}/big-chunked`, dest('big.bin'), { ...local, maxBytes: 1000 }),
      FailureType.BadInput,
      /more than the 1000 byte limit/
    );
    await expect(fs.access(dest('big.bin'))).rejects.toThrow();
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test('a 404 is a non-retryable BadInput; 429, 500 and a body cut short are retryable errors', async () => {
    await expectNonRetryable(downloadToFile(`${base}/missing`, dest('x.bin'), local), FailureType.BadInput, /HTTP 404/);
    await expectRetryable(downloadToFile(`${base}/busy`, dest('x.bin'), local), /HTTP 429/);
    await expectRetryable(downloadToFile(`${base}/boom`, dest('x.bin'), local), /HTTP 500/);
    await expectRetryable(downloadToFile(`${base}/short`, dest('x.bin'), local));
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test('a connection refused is a retryable error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await expectRetryable(downloadToFile(`http://127.0.0.1:${port}/`, dest('x.bin'), local), /ECONNREFUSED/);
  });

  test('keeps query strings (signed URL tokens) out of error messages', async () => {
    const err = await downloadToFile(`${base}/missing?token=s3cr3t`, dest('x.bin'), local).catch((e: Error) => e);
    expect(String(err)).not.toContain('s3cr3t');
  });

  test('refuses non-http schemes, credentials in the URL and malformed URLs', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/a.mp4', 'data:text/plain,hello']) {
      await expectNonRetryable(downloadToFile(url, dest('x.bin'), local), FailureType.BadInput, /only http and https/);
    }
    await expectNonRetryable(
      downloadToFile(`http://user:pw@${hostPort}/file.bin`, dest('x.bin'), local),
      FailureType.BadInput,
      /credentials/
    );
    await expectNonRetryable(
      downloadToFile('not a url', dest('x.bin'), local),
      FailureType.BadInput,
      /not a valid URL/
    );
  });

  test('refuses a content type the caller does not accept', async () => {
    await expectNonRetryable(
      downloadToFile(`${base}/file.bin`, dest('typed.bin'), { ...local, accept: /^image\// }),
      FailureType.BadInput,
      /content type application\/octet-stream is not accepted/
    );
    const ok = await downloadToFile(`${base}/image.png`, dest('typed.png'), { ...local, accept: /^image\// });
    expect(ok.contentType).toBe('image/png');
  });

  test('gives up after timeoutMs with a retryable error', async () => {
    const started = Date.now();
    await expectRetryable(
      downloadToFile(`${base}/hang`, dest('slow.bin'), { ...local, timeoutMs: 200 }),
      /did not finish within 200 ms/
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('rejects with the abort reason when the caller aborts', async () => {
    const controller = new AbortController();
    const download = downloadToFile(`${base}/hang`, dest('aborted.bin'), { ...local, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancelled by workflow')), 50);
    await expect(download).rejects.toThrow('cancelled by workflow');
  });
});

describe('resolveInputFile', () => {
  test('returns the absolute path of an existing file given absolutely or relative to baseDir', async () => {
    await fs.mkdir(dest('story'), { recursive: true });
    await fs.writeFile(dest('story/opening.png'), 'x');
    const opts = { downloadDir: dest('downloads'), baseDir: dest('story') };
    expect(await resolveInputFile('opening.png', opts)).toBe(dest('story/opening.png'));
    expect(await resolveInputFile('./opening.png', opts)).toBe(dest('story/opening.png'));
    expect(await resolveInputFile(dest('story/opening.png'), opts)).toBe(dest('story/opening.png'));
  });

  test('refuses a missing file, a directory and an empty reference with BadInput', async () => {
    const opts = { downloadDir: dest('downloads'), baseDir: dir };
    await expectNonRetryable(resolveInputFile('nothing.png', opts), FailureType.BadInput, /nothing\.png: no such file/);
    await fs.mkdir(dest('folder'), { recursive: true });
    await expectNonRetryable(resolveInputFile('folder', opts), FailureType.BadInput, /folder: not a regular file/);
    await expectNonRetryable(resolveInputFile('  ', opts), FailureType.BadInput, /empty/);
  });

  test('refuses file:, data: and ftp: references', async () => {
    const opts = { downloadDir: dest('downloads'), baseDir: dir };
    for (const ref of ['file:///etc/passwd', 'data:image/png;base64,AAAA', 'ftp://example.com/a.png']) {
      await expectNonRetryable(resolveInputFile(ref, opts), FailureType.BadInput, /references are not accepted/);
    }
  });

  test('downloads an http URL into downloadDir under a name that is stable across retries', async () => {
    const opts = { downloadDir: dest('downloads'), allowPrivate: true };
    const first = await resolveInputFile(`${base}/image.png?v=1`, opts);
    const second = await resolveInputFile(`${base}/image.png?v=1`, opts);
    expect(first).toBe(second);
    expect(path.dirname(first)).toBe(dest('downloads'));
    expect(first).toMatch(/\.png$/);
    expect((await fs.readFile(first)).equals(BODY)).toBe(true);
  });

  test('applies the download rules to URLs', async () => {
    await expectNonRetryable(
      resolveInputFile(`${base}/image.png`, { downloadDir: dest('downloads') }),
      FailureType.BadInput,
      /private or local/
    );
  });
});
