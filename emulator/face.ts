import Fastify, { type FastifyInstance } from 'fastify';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registerAdminRoutes, type AdminService } from './admin-routes';
import { registerFileRoutes, type FileSource } from './file-routes';
import type { FaceService } from './face-service';
import { acceptJsonBodies, errorBody } from './http-server';

// What every face of the emulator shares: its data directory, one Fastify server with the admin endpoints and the
// media files beside the provider's own routes, the origin its asset URLs name, and one close() that stops it all.

/** The settings every face has, whatever else its provider needs. */
export interface FaceOptions {
  host: string;
  port: number;
  publicOrigin: string | undefined;
  keys: string[];
  dataDir: string | undefined;
}

/** What a face's service must offer the scaffold: the shared state, the admin and file sources, a close. */
export type ScaffoldedService = FaceService & AdminService & FileSource & { close(): Promise<void> };

/** A running face. */
export interface RunningFace<O extends FaceOptions> {
  /** What the provider's SDK is pointed at. */
  baseUrl: string;
  /** Scheme, host and port; admin endpoints live under `${origin}/__emulator`. */
  origin: string;
  /** A key the face accepts (the first configured one). */
  apiKey: string;
  /** Where media files are written. */
  dataDir: string;
  /** The options in force. */
  options: O;
  /** Stops lifecycles, renders, callbacks and the server; removes the data directory if it was a temporary one. */
  close(): Promise<void>;
}

/** Starts one face in this process: `service` over its data directory, `routes` for the provider's API. */
export async function startFace<O extends FaceOptions, S extends ScaffoldedService>(face: {
  options: O;
  /** Prefix of the temporary data directory made when `options.dataDir` is unset. */
  tempPrefix: string;
  service: (options: O, dataDir: string) => S;
  routes: (app: FastifyInstance, service: S, closing: AbortSignal) => void;
  /** The SDK's base URL from the origin. */
  baseUrl: (origin: string) => string;
}): Promise<RunningFace<O>> {
  const { options } = face;
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), face.tempPrefix)));
  await mkdir(dataDir, { recursive: true });

  const service = face.service(options, dataDir);
  const closing = new AbortController();
  // forceCloseConnections: the SDKs keep sockets alive; close() must not wait for them.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  errorBody(app);
  acceptJsonBodies(app);
  face.routes(app, service, closing.signal);
  registerAdminRoutes(app, service);
  registerFileRoutes(app, service);

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const reachableHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const origin = `http://${reachableHost.includes(':') ? `[${reachableHost}]` : reachableHost}:${port}`;
  service.setOrigin(options.publicOrigin ?? origin);

  let closed: Promise<void> | undefined;
  return {
    baseUrl: face.baseUrl(origin),
    origin,
    apiKey: options.keys[0],
    dataDir,
    options,
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
