import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdirSync } from 'node:fs';
import type { ReelflowConfig } from '../workers/config';
import type { ReelflowClient } from './reelflow-client';

/** What the HTTP server needs. */
export interface ServerDeps {
  config: ReelflowConfig;
  client: ReelflowClient;
  /** Log requests (off in tests). */
  logger?: boolean;
}

/**
 * reelflow's HTTP server: the asset files (Luma fetches keyframes from here, people watch results), the Luma
 * callback endpoint, and the API.
 */
export async function createServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false });
  mkdirSync(deps.config.assetsDir, { recursive: true });
  // @fastify/static answers range requests and refuses paths outside its root.
  await app.register(fastifyStatic, {
    root: deps.config.assetsDir,
    prefix: '/assets/',
    decorateReply: false,
    index: false,
  });

  // Luma's callbacks carry no signature and are retried only 3 times: a hint at most. Workflows poll anyway.
  app.post('/v1/luma/callback', async (request, reply) => {
    const body = request.body as { id?: string; state?: string } | undefined;
    request.log.info(
      { key: (request.query as { key?: string }).key, id: body?.id, state: body?.state },
      'luma callback'
    );
    return reply.code(204).send();
  });

  app.get('/healthz', async () => ({ ok: true }));
  return app;
}

/** Starts the server on the configured host and port; resolves with its base URL. */
export async function listen(app: FastifyInstance, config: ReelflowConfig): Promise<string> {
  return app.listen({ host: config.http.host, port: config.http.port });
}
