import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdirSync } from 'node:fs';
import type { ReelflowConfig } from '../config';
import { ApiAuth } from './api/auth';
import { installErrorHandlers } from './api/errors';
import { registerApi, type StoryClient } from './api/routes';
import { registerReviewPage } from './review-page';
import { registerMetrics } from './metrics';

/** What the HTTP server needs. */
export interface ServerDeps {
  config: ReelflowConfig;
  /** A ReelflowClient (tests may pass a fake with the same methods). */
  client: StoryClient;
  /** Log requests (off in tests). */
  logger?: boolean;
  /** Token and review-link checks; default: built from `config.api`. */
  auth?: ApiAuth;
}

/**
 * reelflow's HTTP server: the asset files (Luma fetches keyframes from here, people watch results), the Luma
 * callback endpoint, the `/v1` API, its OpenAPI document and the review page.
 */
export async function createServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false });
  const auth = deps.auth ?? new ApiAuth(deps.config.api);
  installErrorHandlers(app);
  mkdirSync(deps.config.assetsDir, { recursive: true });
  // @fastify/static answers range requests and refuses paths outside its root. Assets need no token: Luma fetches
  // keyframes from here, and each story's files sit under its own id, which only its participants know.
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

  await registerApi(app, { config: deps.config, client: deps.client, auth });
  await registerReviewPage(app, { auth });

  app.addHook('onReady', async () => {
    if (auth.open) {
      app.log.warn('REELFLOW_API_TOKENS is empty: the API is open to loopback callers only, with every right');
    }
    if (auth.ephemeralSecret) {
      app.log.warn(
        'REELFLOW_REVIEW_SECRET is unset: review links are signed with a random key and die with this process'
      );
    }
  });

  app.get('/healthz', async () => ({ ok: true }));
  if (deps.client.temporal) registerMetrics(app, { config: deps.config, temporal: deps.client.temporal });
  return app;
}

/** Starts the server on the configured host and port; resolves with its base URL. */
export async function listen(app: FastifyInstance, config: ReelflowConfig): Promise<string> {
  return app.listen({ host: config.http.host, port: config.http.port });
}
