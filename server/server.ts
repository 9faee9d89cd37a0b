import Fastify, { type FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { createAssetStore, type AssetStore } from '../assets';
import type { ReelflowConfig } from '../config';
import { ApiAuth } from './api/auth';
import { installErrorHandlers } from './api/errors';
import { registerApi, type StoryClient } from './api/routes';
import { registerAssetRoutes } from './assets';
import { registerReviewPage } from './review-page';
import { registerMetrics } from './metrics';
import { registerProviderCallbacks } from './provider-callbacks';

/** What the HTTP server needs. */
export interface ServerDeps {
  config: ReelflowConfig;
  /** A ReelflowClient (tests may pass a fake with the same methods). */
  client: StoryClient;
  /** Log requests (off in tests). */
  logger?: boolean;
  /** Token and review-link checks; default: built from `config.api`. */
  auth?: ApiAuth;
  /** The asset store whose URLs answers carry (and whose files are served, when local); default: `config`'s. */
  assets?: AssetStore;
}

/**
 * reelflow's HTTP server: the asset files behind signed URLs or credentials (Luma fetches keyframes from here, people
 * watch results), the Luma callback endpoint, the `/v1` API, its OpenAPI document and the review page.
 */
export async function createServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false });
  // One key signs review links and asset URLs; without a configured one, a random key for this process (the workers
  // of another process could not sign URLs this server accepts: `npm run server` refuses to start without one).
  const secret = deps.config.api.signingSecret ?? randomBytes(32);
  const auth = deps.auth ?? new ApiAuth({ tokens: deps.config.api.tokens, signingSecret: secret });
  const assets =
    deps.assets ??
    createAssetStore({ location: deps.config.assets, publicBaseUrl: deps.config.http.publicUrl, secret: () => secret });
  installErrorHandlers(app);
  await registerAssetRoutes(app, { assets, auth });

  registerProviderCallbacks(app, { client: deps.client });

  await registerApi(app, { config: deps.config, client: deps.client, auth, assets });
  await registerReviewPage(app, { auth });

  app.addHook('onReady', async () => {
    if (auth.open) {
      app.log.warn(
        'INSECURE: REELFLOW_API_TOKENS is empty, so every loopback caller has every right (behind a reverse proxy ' +
          'on this machine, that is every caller)'
      );
    }
    if (!deps.config.api.signingSecret) {
      app.log.warn(
        'REELFLOW_SIGNING_SECRET is unset: review links and asset URLs are signed with a random key of this process'
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
