import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { freePort } from '../../dev/temporal-server';
import { ReelflowClient } from '../../client/reelflow-client';
import { createServer } from '../../server/server';
import { startEmulator, startFalEmulator } from '../../emulator';
import type { FalEmulatorOptions } from '../../emulator/fal/settings';
import type { EmulatorOptions } from '../../emulator/settings';
import { loadConfig, type ReelflowConfig } from '../../config';
import { createWorkers } from '../../workers/create-workers';
import { ensureSearchAttributes } from '../../workers/search-attributes';
import type { StoryProgress } from '../../common/progress';
import { createAssetStore, type AssetStore } from '../../assets';
import type { S3TestServer } from './s3-server';

let runtimeInstalled = false;

/** Keeps the SDK's own logs to warnings so test output stays readable. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Something (e.g. a TestWorkflowEnvironment) already created the runtime; its logger stays.
  }
}

/** A whole reelflow deployment for one test file: emulator, HTTP server, workers, client. */
export interface TestStack {
  config: ReelflowConfig;
  env: Record<string, string>;
  client: ReelflowClient;
  temporal: Client;
  emulator: Awaited<ReturnType<typeof startEmulator>>;
  /** The emulator's fal face (its own port; the same admin endpoints). */
  fal: Awaited<ReturnType<typeof startFalEmulator>>;
  server: FastifyInstance;
  lumaKey: string;
  falKey: string;
  /** The deployment's asset store (the local folder, or the bucket with `s3`), as its processes see it. */
  assets: AssetStore;
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
    fal?: Partial<FalEmulatorOptions>;
    startWorkers?: boolean;
    /** Another Temporal server, e.g. a time-skipping TestWorkflowEnvironment's (default: the shared dev server). */
    temporal?: { client: Client; nativeConnection: NativeConnection; address: string };
    /** Keep assets in a fresh bucket of this S3-compatible server (REELFLOW_ASSET_STORE) instead of the data dir. */
    s3?: S3TestServer;
  } = {}
): Promise<TestStack> {
  quietRuntime();
  const address = options.temporal?.address ?? process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: integration tests need the jest global setup');
  const lumaKey = `test-key-${randomUUID().slice(0, 8)}`;
  const falKey = `test-fal-${randomUUID().slice(0, 8)}`;
  const emulator = await startEmulator({
    port: 0,
    keys: [lumaKey],
    latencyMs: 200,
    createsPerMinute: 1000,
    imageCreatesPerMinute: 1000,
    ...options.emulator,
  });
  const fal = await startFalEmulator({ port: 0, keys: [falKey], latencyMs: 200, ...options.fal });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-test-'));
  const port = await freePort();
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: address,
    LUMAAI_API_KEY: lumaKey,
    LUMAAI_BASE_URL: emulator.baseUrl,
    LUMA_POLL_INTERVAL_MS: '100',
    FAL_KEY: falKey,
    FAL_BASE_URL: fal.baseUrl,
    FAL_POLL_INTERVAL_MS: '100',
    FAL_CREATES_PER_MINUTE: '1000',
    REELFLOW_DATA_DIR: dataDir,
    REELFLOW_HTTP_PORT: String(port),
    REELFLOW_TASK_QUEUE_PREFIX: `t-${randomUUID().slice(0, 8)}`,
    REELFLOW_SHUTDOWN_GRACE_MS: '1000',
    REELFLOW_ALLOW_PRIVATE_INPUTS: 'true',
    // The server and the workers share it, as every deployment's processes must.
    ...(options.env?.REELFLOW_REVIEW_SECRET ? {} : { REELFLOW_SIGNING_SECRET: `test-signing-${randomUUID()}` }),
    // Per-minute limits are tested where they matter; elsewhere they would only make a test file wait.
    LUMA_CREATES_PER_MINUTE: '1000',
    LUMA_IMAGE_CREATES_PER_MINUTE: '1000',
    ...(options.s3 && {
      ...options.s3.env,
      REELFLOW_ASSET_STORE: `s3://${await options.s3.createBucket()}/deployment-1`,
    }),
    ...options.env,
  };
  // The in-process workers and server use the AWS SDK, which reads its settings from the process environment.
  if (options.s3) Object.assign(process.env, options.s3.env);
  const config = loadConfig(env);
  const assets = createAssetStore({
    location: config.assets,
    publicBaseUrl: config.http.publicUrl,
    secret: () => config.api.signingSecret!,
  });
  const connection = options.temporal ? undefined : await Connection.connect({ address });
  const temporal = options.temporal?.client ?? new Client({ connection, namespace: config.temporal.namespace });
  if (options.temporal) await ensureSearchAttributes(temporal, config.temporal.namespace);
  const client = ReelflowClient.fromClient(temporal, config);
  const server = await createServer({ config, client });
  await server.listen({ host: config.http.host, port });

  let workerConnection: NativeConnection | undefined = options.temporal?.nativeConnection;
  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;
  const stack: TestStack = {
    config,
    env,
    client,
    temporal,
    emulator,
    fal,
    server,
    lumaKey,
    falKey,
    assets,
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
      if (!options.temporal) {
        await recordHistories(temporal, config.queues.workflows).catch((err) =>
          console.warn('histories not recorded', err)
        );
      }
      await stack.stopWorkers();
      await server.close();
      await emulator.close();
      await fal.close();
      if (!options.temporal) await workerConnection?.close();
      await connection?.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (options.startWorkers !== false) await stack.startWorkers();
  return stack;
}

/**
 * Saves the history of every workflow that ran on `taskQueue` to test-artifacts/histories/, in the form
 * `Worker.runReplayHistories` reads. Copy chosen ones into test/replay/histories/ to keep them as replay tests.
 */
async function recordHistories(temporal: Client, taskQueue: string): Promise<void> {
  const dir = path.resolve(__dirname, '../../test-artifacts/histories');
  mkdirSync(dir, { recursive: true });
  // The gate never ends; its history so far replays as well as a closed one.
  for await (const wf of temporal.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    const history = await temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    writeFileSync(path.join(dir, `${wf.type}-${wf.workflowId}.json`), historyToJSON(history));
  }
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  what = 'condition'
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch((err) => {
      if (err instanceof StoryEndedError) throw err;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until the story reaches `stage` (or a shot is waiting for review, with `'shot-review'`); fails fast if it ends first. */
export async function waitForStage(
  stack: Pick<TestStack, 'client'>,
  storyId: string,
  stage: StoryProgress['stage'] | 'shot-review' | ((p: StoryProgress) => boolean),
  timeoutMs = 90_000
): Promise<StoryProgress> {
  const matches =
    typeof stage === 'function'
      ? stage
      : stage === 'shot-review'
        ? (p: StoryProgress) => p.shots.some((s) => s.state === 'awaiting-review')
        : (p: StoryProgress) => p.stage === stage;
  return eventually(
    async () => {
      const p = await stack.client.progress(storyId);
      if (matches(p)) return p;
      if (['completed', 'failed', 'cancelled'].includes(p.stage)) {
        throw new StoryEndedError(
          `story ${storyId} ended as ${p.stage} (${p.error ?? 'no error'}) before the awaited stage`
        );
      }
      return undefined;
    },
    timeoutMs,
    `story ${storyId} to reach ${typeof stage === 'function' ? 'the awaited state' : stage}`
  );
}

/** The story ended before what a test waited for. */
export class StoryEndedError extends Error {}
