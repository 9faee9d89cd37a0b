import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { registerAdminRoutes } from '../admin-routes';
import { registerFileRoutes } from '../file-routes';
import { acceptJsonBodies, errorBody } from '../http-server';
import { registerFalRoutes } from './routes';
import { FalService } from './service';
import { resolveFalEmulatorOptions, type FalEmulatorOptions } from './settings';

export {
  DEFAULT_FAL_EMULATOR_KEY,
  FAL_EMULATOR_ENV,
  falEmulatorOptionsFromEnv,
  type FalEmulatorOptions,
} from './settings';
export type { FalEmulatorStats } from './service';

/** A running fal face. */
export interface RunningFalEmulator {
  /** The provider's `FAL_BASE_URL`: fal's hosts are paths under it (`<baseUrl>/queue.fal.run/…`). */
  baseUrl: string;
  /** Scheme, host and port; admin endpoints live under `${origin}/__emulator`, as on the Luma face. */
  origin: string;
  /** A key the face accepts (the first configured one). */
  apiKey: string;
  dataDir: string;
  options: FalEmulatorOptions;
  /** Stops lifecycles, renders, webhooks and the server; removes the data directory if it was a temporary one. */
  close(): Promise<void>;
}

/** Starts the fal face of the emulator in this process; `port: 0` picks a free port. */
export async function startFalEmulator(options: Partial<FalEmulatorOptions> = {}): Promise<RunningFalEmulator> {
  const resolved = resolveFalEmulatorOptions(options);
  const ownsDataDir = resolved.dataDir === undefined;
  const dataDir = resolved.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'fal-emulator-')));
  await mkdir(dataDir, { recursive: true });

  const service = new FalService(resolved, dataDir);
  const closing = new AbortController();
  const app = Fastify({ logger: false, forceCloseConnections: true });
  errorBody(app);
  acceptJsonBodies(app);
  registerFalRoutes(app, service, closing.signal);
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
    baseUrl: origin,
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
