import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../dev/temporal-server';

const root = path.resolve(__dirname, '../..');

/**
 * The S3-compatible servers tests run against, both real HTTP servers on loopback: `moto` (PyPI `moto[server]`,
 * honours `If-None-Match: *`; it accepts any presigned signature and expiry) and `versitygw` (Go module, serves a
 * folder over S3 and checks SigV4, presigned URLs and their expiry). `scripts/setup.cjs test` installs both.
 */
export type S3ServerKind = 'moto' | 'versitygw';

/** A running S3-compatible server and the standard AWS settings that point the SDK at it. */
export interface S3TestServer {
  kind: S3ServerKind;
  endpoint: string;
  /** AWS_* settings for a reelflow process (read by the AWS SDK itself). */
  env: Record<string, string>;
  /** A client of this server, for tests. */
  client: S3Client;
  /** Makes a fresh bucket; answers its name. */
  createBucket(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts `kind` on a free loopback port and waits until it answers. */
export async function startS3Server(kind: S3ServerKind = 'moto'): Promise<S3TestServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const keys = { id: `test-${randomUUID().slice(0, 8)}`, secret: `secret-${randomUUID()}` };
  mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
  const log = createWriteStream(path.join(root, 'test-artifacts', `${kind}-${port}.log`));
  let dataDir: string | undefined;
  let child: ChildProcess;
  if (kind === 'moto') {
    child = spawn(binary('moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } else {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-versitygw-'));
    child = spawn(binary('versitygw'), ['-p', `127.0.0.1:${port}`, 'posix', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ROOT_ACCESS_KEY: keys.id, ROOT_SECRET_KEY: keys.secret },
    });
  }
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env = {
    AWS_ACCESS_KEY_ID: keys.id,
    AWS_SECRET_ACCESS_KEY: keys.secret,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: endpoint,
    // The SDK warns on every process start that a 2027 release will need Node 22; noise in test logs.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const client = new S3Client({
    endpoint,
    region: env.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: keys.id, secretAccessKey: keys.secret },
  });
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await answering(endpoint, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    kind,
    endpoint,
    env,
    client,
    async createBucket() {
      const bucket = `reelflow-${randomUUID().slice(0, 8)}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    stop,
  };
}

/** The binary's path: node_modules/.bin (where setup links it) or PATH. */
function binary(name: string): string {
  for (const dir of [path.join(root, 'node_modules', '.bin'), ...(process.env.PATH ?? '').split(path.delimiter)]) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not installed: run \`node scripts/setup.cjs test\``);
}

/** Waits until the server answers HTTP at all (moto takes a second or two to import). */
async function answering(endpoint: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the S3 server exited (${child.exitCode}) before it answered`);
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`the S3 server at ${endpoint} did not answer within 30 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
