import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startEmulator, startFalEmulator } from '../emulator';
import { DEFAULT_FAL_EMULATOR_KEY } from '../emulator/fal/settings';
import { DEFAULT_EMULATOR_KEY } from '../emulator/settings';
import { loadConfig, type ReelflowConfig } from '../config';
import { connectTemporal } from '../config/temporal';
import { connectWorkerConnection, createWorkers } from '../workers/create-workers';
import { deploymentVersion } from '../workers/deployment';
import { runtimeTelemetry } from '../workers/telemetry';
import { setCurrentVersion, waitForWorkers } from '../workers/deploy/versions';
import { ensureSearchAttributes } from '../workers/search-attributes';
import { ReelflowClient } from '../client/reelflow-client';
import { ApiAuth } from '../server/api/auth';
import { createServer } from '../server/server';
import { startTemporalDevServer } from './temporal-server';

/** Ports the local stack uses when it starts its own Temporal server and emulator. */
export const LOCAL_PORTS = { temporal: 7233, temporalUi: 8233, emulator: 7863, falEmulator: 7864 } as const;

/** The local stack: Temporal dev server and emulator when needed, workers and HTTP server always. */
export interface LocalStack {
  config: ReelflowConfig;
  client: ReelflowClient;
  urls: { temporalUi?: string; api: string; emulator?: string; falEmulator?: string; version?: string };
  server: FastifyInstance;
  /** Signs review links for the server's review page. */
  auth: ApiAuth;
  stop(): Promise<void>;
}

/**
 * Starts everything `npm run dev` needs on this machine. Without TEMPORAL_ADDRESS it starts a Temporal dev server
 * persisted under the data dir; without LUMAAI_API_KEY it starts the Luma emulator, without FAL_KEY its fal face.
 * Stop with `stop()`.
 */
export async function startLocalStack(env: NodeJS.ProcessEnv = process.env): Promise<LocalStack> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => console.error(err));
  };
  try {
    const effective: NodeJS.ProcessEnv = { ...env };
    const base = loadConfig(effective);
    // The workers sign asset URLs and the server checks them: one key, kept in the data dir so links and URLs
    // handed out survive a restart of the stack.
    if (!base.api.signingSecret) effective.REELFLOW_SIGNING_SECRET = localSigningSecret(base.dataDir);
    const urls: LocalStack['urls'] = { api: base.http.publicUrl };
    // The SDK would otherwise shut workers down on its own SIGINT handler, racing our orderly stop.
    Runtime.install({
      // At the default level the SDK's start-up warnings (e.g. a queue with no workflows) are only noise here.
      logger: new DefaultLogger(base.logLevel === 'INFO' ? 'ERROR' : base.logLevel),
      shutdownSignals: [],
      telemetryOptions: runtimeTelemetry(base),
    });

    if (!base.temporal.address) {
      const temporal = await startTemporalDevServer({
        cliPath: base.temporal.cliPath,
        dbFile: path.join(base.dataDir, 'temporal.sqlite'),
        port: LOCAL_PORTS.temporal,
        uiPort: LOCAL_PORTS.temporalUi,
        logFile: path.join(base.dataDir, 'logs', 'temporal.log'),
      });
      stops.push(temporal.stop);
      effective.TEMPORAL_ADDRESS = temporal.address;
      effective.TEMPORAL_UI_URL ??= temporal.uiUrl;
    }
    if (!base.luma.apiKey) {
      const emulator = await startEmulator({
        port: LOCAL_PORTS.emulator,
        keys: [DEFAULT_EMULATOR_KEY],
        dataDir: path.join(base.dataDir, 'emulator'),
      });
      stops.push(() => emulator.close());
      effective.LUMAAI_API_KEY = DEFAULT_EMULATOR_KEY;
      effective.LUMAAI_BASE_URL = emulator.baseUrl;
      urls.emulator = emulator.baseUrl;
    }
    if (!base.fal.apiKey) {
      const fal = await startFalEmulator({
        port: LOCAL_PORTS.falEmulator,
        keys: [DEFAULT_FAL_EMULATOR_KEY],
        dataDir: path.join(base.dataDir, 'emulator-fal'),
      });
      stops.push(() => fal.close());
      effective.FAL_KEY = DEFAULT_FAL_EMULATOR_KEY;
      effective.FAL_BASE_URL = fal.baseUrl;
      urls.falEmulator = fal.baseUrl;
    }
    const config = loadConfig(effective);
    urls.temporalUi = config.temporal.uiUrl;

    const temporalClient = await connectTemporal(config);
    stops.push(() => temporalClient.connection.close());
    await ensureSearchAttributes(temporalClient, config.temporal.namespace);
    const client = ReelflowClient.fromClient(temporalClient, config);

    const connection = await connectWorkerConnection(config);
    stops.push(() => connection.close());
    const workers: Worker[] = await createWorkers({ config, connection, client: temporalClient });
    const running = Promise.all(workers.map((w) => w.run()));
    stops.push(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    });
    if (config.deployment.versioning) {
      // The dev stack is its deployment's only version: it makes itself current (no replay gate; CI replays).
      const version = deploymentVersion(config);
      await waitForWorkers(temporalClient, config, version, 60_000);
      await setCurrentVersion(temporalClient, config, version);
      urls.version = `${version.deploymentName} ${version.buildId}`;
    }

    const auth = new ApiAuth(config.api);
    const server = await createServer({ config, client, auth });
    await server.listen({ host: config.http.host, port: config.http.port });
    stops.push(() => server.close());
    return { config, client, urls, server, auth, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The local stack's signing key: `<data dir>/signing-secret`, made on first use (readable by its owner only). */
function localSigningSecret(dataDir: string): string {
  const file = path.join(dataDir, 'signing-secret');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 16) return existing;
  } catch {
    // not made yet
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
