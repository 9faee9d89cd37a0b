import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { registerAdminRoutes } from './admin-routes';
import { registerApiRoutes } from './api-routes';
import { acceptJsonBodies, errorBody } from './http-server';
import { registerFileRoutes } from './file-routes';
import { LumaService } from './luma-service';
import { API_PREFIX, resolveEmulatorOptions, type EmulatorOptions } from './settings';

export { emulatorOptionsFromEnv, DEFAULT_EMULATOR_KEY, EMULATOR_ENV, type EmulatorOptions } from './settings';
export type { FaultConfig, ActiveFaults } from './faults';
export type { EmulatorStats } from './luma-service';
export { setFaults, clearFaults, getFaults, getStats, getFalStats, resetStats, setBalance } from './admin';
export { startFalEmulator, type RunningFalEmulator, type FalEmulatorOptions } from './fal';

/** A running emulator. */
export interface RunningEmulator {
  /** Base URL for `new LumaAI({ baseURL })`, e.g. http://127.0.0.1:PORT/dream-machine/v1. */
  baseUrl: string;
  /** Scheme, host and port; admin endpoints live under `${origin}/__emulator`. */
  origin: string;
  /** A key the emulator accepts (the first configured one). */
  apiKey: string;
  /** Where media files are written. */
  dataDir: string;
  /** The options in force. */
  options: EmulatorOptions;
  /** Stops lifecycles, ffmpeg children, callbacks and the server; removes the data directory if it was a temporary one. */
  close(): Promise<void>;
}

/** Starts an emulator of the Luma Dream Machine API in this process; `port: 0` picks a free port. */
export async function startEmulator(options: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  const resolved = resolveEmulatorOptions(options);
  const ownsDataDir = resolved.dataDir === undefined;
  const dataDir = resolved.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'luma-emulator-')));
  await mkdir(dataDir, { recursive: true });

  const service = new LumaService(resolved, dataDir);
  const closing = new AbortController();
  // forceCloseConnections: the SDK keeps sockets alive; close() must not wait for them.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  errorBody(app);
  acceptJsonBodies(app);
  registerApiRoutes(app, service, API_PREFIX, closing.signal);
  registerAdminRoutes(app, service);
  registerFileRoutes(app, service);

  try {
    await app.listen({ host: resolved.host, port: resolved.port });
  } catch (err) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : resolved.port;
  const reachableHost = resolved.host === '0.0.0.0' || resolved.host === '::' ? '127.0.0.1' : resolved.host;
  const origin = `http://${reachableHost.includes(':') ? `[${reachableHost}]` : reachableHost}:${port}`;
  service.setOrigin(resolved.publicOrigin ?? origin);

  let closed: Promise<void> | undefined;
  return {
    baseUrl: `${origin}${API_PREFIX}`,
    origin,
    apiKey: resolved.keys[0],
    dataDir,
    options: resolved,
    close() {
      closed ??= (async () => {
        closing.abort();
        await service.close();
        await app.close();
        if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
