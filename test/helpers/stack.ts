import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { freePort } from '../../client/dev/temporal-server';
import { ReelflowClient } from '../../client/reelflow-client';
import { createServer } from '../../client/server';
import { startEmulator } from '../../emulator';
import type { EmulatorOptions } from '../../emulator/settings';
import { loadConfig, type ReelflowConfig } from '../../workers/config';
import { createWorkers } from '../../workers/create-workers';

let runtimeInstalled = false;

/** Keeps the SDK's own logs to warnings so test output stays readable. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

/** A whole reelflow deployment for one test file: emulator, HTTP server, workers, client. */
export interface TestStack {
  config: ReelflowConfig;
  env: Record<string, string>;
  client: ReelflowClient;
  temporal: Client;
  emulator: Awaited<ReturnType<typeof startEmulator>>;
  server: FastifyInstance;
  lumaKey: string;
  /** Starts the in-process workers (already started unless `startWorkers: false`). */
  startWorkers(): Promise<void>;
  /** Stops the in-process workers gracefully. */
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a stack on the shared test Temporal server, isolated by its own task queue prefix and data dir. */
export async function startTestStack(
  options: {
    env?: Record<string, string>;
    emulator?: Partial<EmulatorOptions>;
    startWorkers?: boolean;
  } = {}
): Promise<TestStack> {
  quietRuntime();
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: integration tests need the jest global setup');
  const lumaKey = `test-key-${randomUUID().slice(0, 8)}`;
  const emulator = await startEmulator({ port: 0, keys: [lumaKey], latencyMs: 200, ...options.emulator });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-test-'));
  const port = await freePort();
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: address,
    LUMAAI_API_KEY: lumaKey,
    LUMAAI_BASE_URL: emulator.baseUrl,
    LUMA_POLL_INTERVAL_MS: '100',
    REELFLOW_DATA_DIR: dataDir,
    REELFLOW_HTTP_PORT: String(port),
    REELFLOW_TASK_QUEUE_PREFIX: `t-${randomUUID().slice(0, 8)}`,
    REELFLOW_SHUTDOWN_GRACE_MS: '1000',
    REELFLOW_ALLOW_PRIVATE_INPUTS: 'true',
    ...options.env,
  };
  const config = loadConfig(env);
  const connection = await Connection.connect({ address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const client = ReelflowClient.fromClient(temporal, config);
  const server = await createServer({ config, client });
  await server.listen({ host: config.http.host, port });

  let workerConnection: NativeConnection | undefined;
  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;
  const stack: TestStack = {
    config,
    env,
    client,
    temporal,
    emulator,
    server,
    lumaKey,
    async startWorkers() {
      workerConnection ??= await NativeConnection.connect({ address });
      workers = await createWorkers({
        config,
        connection: workerConnection,
        client: temporal,
        workflows: { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } },
      });
      running = Promise.all(workers.map((w) => w.run()));
    },
    async stopWorkers() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      workers = [];
    },
    async close() {
      await stack.stopWorkers();
      await server.close();
      await emulator.close();
      await workerConnection?.close();
      await connection.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (options.startWorkers !== false) await stack.startWorkers();
  return stack;
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  what = 'condition'
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
