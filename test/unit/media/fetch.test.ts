import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { FailureType } from '../../../common/failures';
import {
  downloadToFile,
  embeddedIPv4,
  isPublicAddress,
  MAX_REDIRECTS,
  resolveInputFile,
} from '../../../activities/fetch';
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
    case '/redirect':
      return redirect(url.searchParams.get('to') ?? '/file.bin');
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

describe('which addresses are public', () => {
  // 169.254.169.254 (the cloud metadata service) in every form an address can take.
  const metadata = [
    '169.254.169.254',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '::a9fe:a9fe',
    '::ffff:0:a9fe:a9fe',
    '64:ff9b::169.254.169.254',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b:1::a9fe:a9fe',
    '2002:a9fe:a9fe::',
    '2002:a9fe:a9fe:1234::1',
    '2001:0:a9fe:a9fe::1',
  ];
  test.each(metadata)('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  test.each([
    ['loopback', ['127.0.0.1', '127.1.2.3', '::1', '::ffff:7f00:1', '64:ff9b::7f00:1', '2002:7f00:1::1']],
    ['private', ['10.0.0.1', '172.16.5.4', '192.168.1.1', '::ffff:c0a8:101', '64:ff9b::a00:1', '2002:c0a8:101::']],
    ['unspecified and this-network', ['0.0.0.0', '::', '0.1.2.3']],
    ['shared, benchmark, documentation, relay', ['100.64.0.1', '198.18.0.1', '192.0.2.1', '192.88.99.1']],
    ['IPv6 local and special ranges', ['fe80::1', 'fe80::1%eth0', 'fc00::1', 'fd12:3456::1', 'fec0::1', 'ff02::1']],
    ['documentation, discard, Teredo, local-use NAT64', ['2001:db8::1', '100::1', '2001::1', '64:ff9b:1::808:808']],
  ])('%s addresses are not public', (_what, addresses) => {
    for (const address of addresses)
      expect({ address, public: isPublicAddress(address) }).toEqual({ address, public: false });
  });

  test('an embedded public IPv4 address is public in every embedding form; plain public addresses are', () => {
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2002:808:808::1',
    ]) {
      expect({ address, public: isPublicAddress(address) }).toEqual({ address, public: true });
    }
    expect(isPublicAddress('not an address')).toBe(false);
  });

  test('the embedded IPv4 address is read from where each form keeps it', () => {
    expect(embeddedIPv4('64:ff9b::a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIPv4('2002:a9fe:a9fe:1::2')).toBe('169.254.169.254');
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('::ffff:0:a00:1')).toBe('10.0.0.1');
    expect(embeddedIPv4('::a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIPv4('2606:4700:4700::1111')).toBeUndefined();
  });
});

describe('the SSRF guard on URLs', () => {
  test.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[::a9fe:a9fe]/',
    'http://[::ffff:0:a9fe:a9fe]/',
    'http://[64:ff9b::169.254.169.254]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[64:ff9b:1::a9fe:a9fe]/',
    'http://[2002:a9fe:a9fe::]/',
    'http://[2001:0:a9fe:a9fe::]/',
    'http://2852039166/',
    'http://0251.0376.0251.0376/',
    'http://0xa9.0xfe.0xa9.0xfe/',
    'http://0xa9fea9fe/',
    'http://169.254.43518/',
    'https://169.254.169.254/',
  ])('%s is refused before any connection', async (url) => {
    await expectNonRetryable(
      downloadToFile(url, dest('meta.bin')),
      FailureType.BadInput,
      /is a private or local address/
    );
  });

  test('loopback written in decimal, octal, hex, NAT64 or 6to4 form never reaches the server listening there', async () => {
    const { port } = server.address() as AddressInfo;
    for (const host of ['2130706433', '0177.0.0.1', '0x7f.1', '[64:ff9b::7f00:1]', '[2002:7f00:1::]', '[::7f00:1]']) {
      await expectNonRetryable(
        downloadToFile(`http://${host}:${port}/file.bin`, dest('loop.bin')),
        FailureType.BadInput,
        /is a private or local address/
      );
    }
    await expect(fs.access(dest('loop.bin'))).rejects.toThrow();
  });

  test('a host trusted to be private may be fetched; its redirects to other private addresses are refused', async () => {
    const { port } = server.address() as AddressInfo;
    const trusted = { privateHosts: [hostPort] };
    await downloadToFile(`${base}/file.bin`, dest('trusted.bin'), trusted);
    expect((await fs.readFile(dest('trusted.bin'))).equals(BODY)).toBe(true);
    for (const [to, reason] of [
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a private or local address/],
      [`http://[64:ff9b::7f00:1]:${port}/file.bin`, /64:ff9b::7f00:1 is a private or local address/],
      [`http://[2002:a9fe:a9fe::]:${port}/file.bin`, /2002:a9fe:a9fe:: is a private or local address/],
      [`http://0x7f.0.0.2:${port}/file.bin`, /127\.0\.0\.2 is a private or local address/],
      [`http://localhost:${port}/file.bin`, /localhost resolves to .* a private or local address/],
    ] as Array<[string, RegExp]>) {
      await expectNonRetryable(
        downloadToFile(`${base}/redirect?to=${encodeURIComponent(to)}`, dest('redirected.bin'), trusted),
        FailureType.BadInput,
        reason
      );
    }
    await expect(fs.access(dest('redirected.bin'))).rejects.toThrow();
  });
});
