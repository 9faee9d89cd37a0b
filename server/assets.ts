import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AssetStore } from '../assets';
import type { ApiAuth } from './api/auth';
import { ApiError } from './api/errors';

/** What serving the asset files needs. */
export interface AssetRouteDeps {
  assets: AssetStore;
  auth: ApiAuth;
}

/**
 * Serves a local store's files under `/assets/`, each request allowed by one of: a valid signed URL for exactly that
 * file (`?exp=&sig=`, what Luma, `<img>`/`<video>` and webhook receivers use), a role token, a review link of the
 * file's own story (`X-Review-Link`), or open mode on loopback. No credentials: 401; a tampered, expired or
 * other file's signature, or another story's review link: 403. Ranges work; dotfiles (scratch files) and anything
 * outside the folder (`..`, encoded or not, symlinks) are never served.
 */
export async function registerAssetRoutes(app: FastifyInstance, deps: AssetRouteDeps): Promise<void> {
  const served = deps.assets.served;
  // An object store hands out its own presigned URLs: there is nothing to serve here.
  if (!served) return;
  served.prepare();

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request) => {
      const rel = assetPath(request);
      if (!rel) throw new ApiError('not-found', `no asset ${request.url.split('?')[0]}`);
      const query = (request.query ?? {}) as Record<string, unknown>;
      const signed = query.sig !== undefined || query.exp !== undefined;
      // A bearer token wins over a signature, as it does over a review link on the API.
      if (signed && request.headers.authorization === undefined) {
        const check = served.check(rel, String(query.exp ?? ''), String(query.sig ?? ''));
        if (check === 'expired') throw new ApiError('forbidden', 'this asset link has expired; ask for a fresh one');
        if (check !== 'valid') throw new ApiError('forbidden', 'this asset link is not valid for this file');
      } else {
        deps.auth.authorize(request, 'read', rel.split('/')[0]);
      }
      // A symlink inside the folder must not lead out of it.
      if (!(await served.staysInside(rel))) throw new ApiError('not-found', `no asset ${request.url.split('?')[0]}`);
    });
    scope.addHook('onSend', async (_request, reply) => {
      // Per caller: a shared cache must never hand a file fetched with a token to someone without one.
      reply.header('cache-control', 'private, max-age=600');
      reply.header('x-content-type-options', 'nosniff');
    });
    await scope.register(fastifyStatic, {
      root: served.root,
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      list: false,
      redirect: false,
      // @fastify/static serves dotfiles by default; ours are half-written scratch files.
      dotfiles: 'ignore',
      cacheControl: false,
    });
  });
}

/** The decoded path under `/assets/`, or undefined when it is empty or could climb out (`..`, `\`, NUL, `//`). */
function assetPath(request: FastifyRequest): string | undefined {
  const raw = request.url.split('?')[0].slice('/assets/'.length);
  let rel: string;
  try {
    rel = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const segments = rel.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || /[\\\0]/.test(s))) return undefined;
  return rel;
}
