import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../dev/temporal-server';

// `npm run server` as its own process: it refuses to start without API tokens unless told explicitly that an open
// API is wanted, and without the signing secret the workers share; the refusal says what to set.

const root = path.resolve(__dirname, '../..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-server-startup-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const SECRET = 'server-startup-test-secret';

interface Started {
  child: ChildProcess;
  base: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts server/main.ts (what `npm run server` runs) with only the given reelflow settings. */
async function startServer(env: Record<string, string>, args: string[] = []): Promise<Started> {
  const port = await freePort();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REELFLOW_|LUMA)/.test(k)));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/main.ts'), ...args], {
    cwd: root,
    env: {
      ...clean,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      REELFLOW_DATA_DIR: dataDir,
      REELFLOW_HTTP_PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, base: `http://127.0.0.1:${port}`, output: () => text, exited };
}

/** Resolves true once /healthz answers, false if the process ends first; bounded at 60 s. */
async function ready(server: Started): Promise<boolean> {
  let ended = false;
  void server.exited.then(() => (ended = true));
  for (let i = 0; i < 300 && !ended; i++) {
    const ok = await fetch(`${server.base}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function stop(server: Started): Promise<void> {
  if (server.child.exitCode === null) server.child.kill('SIGTERM');
  await server.exited;
}

test('without API tokens and without the insecure flag it refuses to start, saying what to set', async () => {
  const server = await startServer({ REELFLOW_SIGNING_SECRET: SECRET });
  expect(await server.exited).toBe(1);
  const lines = server.output().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^reelflow server: no API tokens are configured/);
  expect(lines[0]).toContain('REELFLOW_API_TOKENS=');
  expect(lines[0]).toContain('REELFLOW_INSECURE_OPEN_API=true');
  expect(lines[0]).toContain('--insecure');
});

test('without the signing secret it refuses to start, naming REELFLOW_SIGNING_SECRET', async () => {
  const server = await startServer({ REELFLOW_API_TOKENS: 'b:backend' });
  expect(await server.exited).toBe(1);
  expect(server.output().trim()).toMatch(/^reelflow server: REELFLOW_SIGNING_SECRET is not set/);
});

test('with tokens it starts, and a caller without a token is refused even on loopback', async () => {
  const server = await startServer({ REELFLOW_API_TOKENS: 'b-token:backend', REELFLOW_SIGNING_SECRET: SECRET });
  try {
    expect(await ready(server)).toBe(true);
    expect((await fetch(`${server.base}/v1/stories`)).status).toBe(401);
    const listed = await fetch(`${server.base}/v1/stories`, { headers: { authorization: 'Bearer b-token' } });
    expect(listed.status).toBe(200);
  } finally {
    await stop(server);
  }
});

test.each([
  ['--insecure', {}, ['--insecure']],
  ['REELFLOW_INSECURE_OPEN_API=true', { REELFLOW_INSECURE_OPEN_API: 'true' }, []],
] as Array<[string, Record<string, string>, string[]]>)(
  'with %s it starts open to loopback callers and warns that it is insecure',
  async (_how, env, args) => {
    const server = await startServer({ REELFLOW_SIGNING_SECRET: SECRET, ...env }, args);
    try {
      expect(await ready(server)).toBe(true);
      expect((await fetch(`${server.base}/v1/stories`)).status).toBe(200);
      expect(server.output()).toMatch(/INSECURE: REELFLOW_API_TOKENS is empty/);
    } finally {
      await stop(server);
    }
  }
);
