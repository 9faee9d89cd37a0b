import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { emulatorOptionsFromEnv, startEmulator } from '../../../emulator';
import { eventually, lumaClient, settle, startTestServer } from './support';

const ROOT = path.resolve(__dirname, '../../..');

/**
 * Pids of ffmpeg processes started by this (jest worker) process. Read synchronously, so each check sees /proc as it
 * is now (an async scan per check piled up and answered late on a busy machine).
 */
function ffmpegChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat = '';
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // the process ended while we looked
    }
    // Format: pid (comm) state ppid ...
    const match = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
    if (match && match[1] === 'ffmpeg' && Number(match[2]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}

describe('emulator lifecycle', () => {
  it('close() during a render kills ffmpeg, removes the temporary media directory and returns promptly', async () => {
    const emulator = await startEmulator({ port: 0 });
    try {
      const client = lumaClient(emulator.baseUrl, emulator.apiKey);
      await client.generations.create({
        prompt: 'a long and heavy clip',
        model: 'ray-2',
        duration: '9s',
        resolution: '1080p',
      });
      let seen: number[] = [];
      await eventually(
        () => {
          seen = ffmpegChildren();
          return seen.length > 0;
        },
        'ffmpeg to start rendering',
        // Generous: on a loaded machine the render may start long after the create was answered.
        120_000
      );

      // Promptly means without waiting for the render: its ffmpeg is killed rather than awaited (no wall-clock
      // bound: the machine may be loaded).
      await emulator.close();
      await eventually(() => seen.every((pid) => !existsSync(`/proc/${pid}`)), 'ffmpeg to be gone', 10_000);
      expect(existsSync(emulator.dataDir)).toBe(false);
    } finally {
      // close() is idempotent: this only matters when an expectation above failed first.
      await emulator.close();
    }
  });

  it('sends callbacks in order for a failed generation too: dreaming, then failed', async () => {
    const [emulator, server] = await Promise.all([startEmulator({ port: 0 }), startTestServer()]);
    try {
      const client = lumaClient(emulator.baseUrl, emulator.apiKey);
      const created = await client.generations.create({
        prompt: 'a clip whose start frame is missing',
        model: 'ray-2',
        resolution: '540p',
        keyframes: { frame0: { type: 'image', url: `${server.origin}/gone.png` } },
        callback_url: `${server.origin}/callback?key=failed-1`,
      });
      await settle(client, created.id!);
      await eventually(() => server.callbacks.length >= 2, 'two callbacks');
      expect(server.callbacks.map((c) => [c.body.state, c.body.failure_reason])).toEqual([
        ['dreaming', null],
        ['failed', 'Failed to read user input frames'],
      ]);
    } finally {
      await Promise.all([emulator.close(), server.close()]);
    }
  });
});

describe('callback delivery', () => {
  it('tries a failing receiver 3 times per state change, and the generation completes regardless', async () => {
    const [emulator, server] = await Promise.all([startEmulator({ port: 0 }), startTestServer()]);
    try {
      const client = lumaClient(emulator.baseUrl, emulator.apiKey);
      const created = await client.generations.image.create({
        prompt: 'nobody is listening',
        model: 'photon-flash-1',
        callback_url: `${server.origin}/callback-broken?key=x`,
      });
      expect((await settle(client, created.id!)).state).toBe('completed');
      await eventually(() => server.callbacks.length >= 6, 'six callback tries');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.callbacks.map((c) => c.body.state)).toEqual([
        'dreaming',
        'dreaming',
        'dreaming',
        'completed',
        'completed',
        'completed',
      ]);
    } finally {
      await Promise.all([emulator.close(), server.close()]);
    }
  });
});

describe('settings from the environment', () => {
  it('reads only the variables that are set, so defaults apply to the rest', () => {
    expect(emulatorOptionsFromEnv({})).toEqual({});
    expect(
      emulatorOptionsFromEnv({
        LUMA_EMULATOR_KEYS: ' a-key, b-key ,',
        LUMA_EMULATOR_LATENCY_MS: '50',
        LUMA_EMULATOR_CONCURRENCY: '3',
        LUMA_EMULATOR_BALANCE_CENTS: '250',
        LUMA_EMULATOR_IMAGE_RESOLUTION: '720p',
        LUMA_EMULATOR_PORT: '0',
      })
    ).toEqual({
      keys: ['a-key', 'b-key'],
      latencyMs: 50,
      concurrency: 3,
      balanceCents: 250,
      imageResolution: '720p',
      port: 0,
    });
  });

  it('refuses values that cannot work, naming the variable', () => {
    expect(() => emulatorOptionsFromEnv({ LUMA_EMULATOR_CONCURRENCY: '0' })).toThrow(/LUMA_EMULATOR_CONCURRENCY/);
    expect(() => emulatorOptionsFromEnv({ LUMA_EMULATOR_PORT: '70000' })).toThrow(/LUMA_EMULATOR_PORT/);
    expect(() => emulatorOptionsFromEnv({ LUMA_EMULATOR_IMAGE_RESOLUTION: '8k' })).toThrow(/IMAGE_RESOLUTION/);
  });
});

describe('npm run emulator (emulator/cli.ts)', () => {
  it('prints its base URL and key, serves the SDK, and exits 0 on SIGTERM', async () => {
    const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['emulator/cli.ts', '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, LUMA_EMULATOR_KEYS: 'cli-key' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(() => /listening: \S+/.test(output), 'the CLI to print its base URL', 30_000);
      const baseUrl = /listening: (\S+)/.exec(output)![1];
      expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dream-machine\/v1$/);
      expect(output).toContain('LUMAAI_API_KEY=cli-key');
      expect(await lumaClient(baseUrl, 'cli-key').ping.check()).toEqual({ message: 'pong' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
