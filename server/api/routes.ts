import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AssetStore } from '../../assets';
import { shotReviewSchema } from '../../common/messages';
import { isTerminalStage } from '../../common/stages';
import type { CostEstimate } from '../../common/progress';
import { storySpecSchema, type StorySpec } from '../../common/story';
import { issuesOf, joinField, type FieldIssue } from '../../common/validation';
import type { ReelflowConfig } from '../../config';
import { ReelflowError, type ReelflowClient } from '../../client/reelflow-client';
import { type ApiAuth, type Permission } from './auth';
import { ApiError } from './errors';
import { buildOpenApiDocument } from './openapi';
import { publicView } from './public-view';
import {
  createStoryEnvelopeSchema,
  keyframeReviewSchema,
  listQuerySchema,
  raiseBudgetSchema,
  resultQuerySchema,
  reviewLinkRequestSchema,
  shotReviewBodySchema,
  storyIdSchema,
} from './schemas';

/** The client calls the API makes; tests pass a fake with these. */
export type StoryClient = Pick<
  ReelflowClient,
  | 'start'
  | 'estimate'
  | 'progress'
  | 'reviewKeyframes'
  | 'reviewShot'
  | 'raiseBudget'
  | 'cancel'
  | 'result'
  | 'list'
  | 'uiUrl'
> &
  Partial<Pick<ReelflowClient, 'models' | 'generationSettled'>> &
  // The Temporal client, when there is one, answers "has this story ended?" without a worker (see `endedStage`).
  Partial<Pick<ReelflowClient, 'temporal'>>;

/** What the API routes need. */
export interface ApiDeps {
  config: ReelflowConfig;
  client: StoryClient;
  auth: ApiAuth;
  /** Signs the asset URLs of answers. */
  assets: AssetStore;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a caller must be allowed to do to reach the route; checked before the body is read. */
    permission?: Permission | 'public';
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
// Enough to cover every retry window that matters; the story id derived from the key is the durable part.
const REMEMBERED_KEYS = 10_000;

/** Registers the `/v1` API (in its own plugin, behind the token and review-link check) and `/openapi.json`. */
export async function registerApi(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { client, auth, config, assets } = deps;
  const base = config.http.publicUrl;
  const idempotency = new Map<string, { storyId: string; fingerprint: string }>();

  let openApi: Record<string, unknown> | undefined;
  app.get('/openapi.json', { config: { permission: 'public' } }, async () => (openApi ??= buildOpenApiDocument(base)));

  await app.register(
    async (api) => {
      // `curl -X POST -H 'Content-Type: application/json'` without a body is common (cancel, review-link): read it
      // as no body. Anything else goes to Fastify's own parser, with its prototype-poisoning checks.
      const json = api.getDefaultJsonParser('error', 'error');
      api.removeContentTypeParser('application/json');
      api.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
        const text = body.toString();
        if (text.trim() === '') done(null, undefined);
        else void json(request, text, done);
      });
      // Answers are per caller and change every second: no shared or stale copies.
      api.addHook('onSend', async (_request, reply) => {
        reply.header('cache-control', 'no-store');
      });

      api.addHook('onRequest', async (request) => {
        const permission = request.routeOptions.config.permission;
        // Deny by default: a route that forgot to say who may call it is closed, not open.
        if (permission === undefined) throw new ApiError('forbidden', 'route has no permission set');
        if (permission === 'public') return;
        auth.authorize(request, permission, (request.params as { id?: string }).id);
      });

      const links = (storyId: string) => ({
        self: `${base}/v1/stories/${encodeURIComponent(storyId)}`,
        result: `${base}/v1/stories/${encodeURIComponent(storyId)}/result`,
        temporalUi: client.uiUrl(storyId),
      });
      const created = (storyId: string, estimate: CostEstimate, uiUrl: string, runId?: string) => {
        const review = auth.reviewLink(storyId, base);
        const body = { id: storyId, runId, estimate, links: { ...links(storyId), temporalUi: uiUrl } };
        return { ...body, links: { ...body.links, review: review.url, reviewExpiresAt: review.expiresAt } };
      };

      api.post('/stories', { config: { permission: 'start' } }, async (request, reply) => {
        const { id, story } = readStoryBody(request.body);
        const key = idempotencyKey(request);
        const fingerprint = key ? sha256Hex(canonicalJson(request.body)) : '';
        const remembered = key ? idempotency.get(key) : undefined;
        if (remembered && remembered.fingerprint !== fingerprint) {
          throw new ApiError('rejected', 'this Idempotency-Key was already used with a different request body', [
            { field: 'Idempotency-Key', message: 'reused with a different body' },
          ]);
        }
        // Without an explicit id the key decides the id, so Temporal's duplicate check makes retries durable.
        const storyId = id ?? (key ? storyIdForKey(key) : undefined);
        try {
          const started = await client.start(story, { storyId });
          if (key) remember(idempotency, key, { storyId: started.storyId, fingerprint });
          void reply.code(201).header('location', links(started.storyId).self);
          return created(started.storyId, started.estimate, started.uiUrl, started.runId);
        } catch (err) {
          const sameKey = key !== undefined && (id === undefined || remembered?.storyId === id);
          if (storyId && sameKey && err instanceof ReelflowError && err.code === 'conflict') {
            void reply.code(200).header('location', links(storyId).self);
            return created(storyId, client.estimate(story), client.uiUrl(storyId));
          }
          throw err;
        }
      });

      api.get('/stories', { config: { permission: 'list' } }, async (request) => {
        const query = parse(listQuerySchema, request.query);
        return { stories: await client.list(query) };
      });

      api.get('/stories/:id', { config: { permission: 'read' } }, async (request) => {
        const id = storyIdParam(request);
        const progress = await client.progress(id);
        return { ...((await publicView(progress, assets)) as object), links: links(id) };
      });

      api.get('/stories/:id/result', { config: { permission: 'read' } }, async (request, reply) => {
        const id = storyIdParam(request);
        const { wait } = parse(resultQuerySchema, request.query ?? {});
        if (wait === 'false') {
          const progress = await client.progress(id);
          if (!isTerminalStage(progress.stage)) {
            void reply.code(202).header('retry-after', '5');
            return { storyId: id, stage: progress.stage, links: links(id) };
          }
        }
        return publicView(await client.result(id), assets);
      });

      api.post('/stories/:id/keyframes/review', { config: { permission: 'review' } }, async (request) => {
        const id = storyIdParam(request);
        const review = parse(keyframeReviewSchema, request.body);
        const ack = await client.reviewKeyframes(id, review, { updateId: reviewUpdateId(request, id) });
        const progress = await client.progress(id);
        return { ...((await publicView(progress, assets)) as object), review: ack, links: links(id) };
      });

      api.post('/stories/:id/shots/:n/review', { config: { permission: 'review' } }, async (request) => {
        const id = storyIdParam(request);
        const n = shotNumberParam(request);
        const body = parse(shotReviewBodySchema, request.body);
        // The path counts shots from 1 (as people do); the workflow counts from 0.
        const review = parse(shotReviewSchema, { ...body, shot: n - 1 });
        const { shots } = await client.progress(id);
        if (n > shots.length) throw new ApiError('not-found', `story '${id}' has shots 1..${shots.length}, not ${n}`);
        const ack = await client.reviewShot(id, review, { updateId: reviewUpdateId(request, id) });
        const progress = await client.progress(id);
        return { ...((await publicView(progress, assets)) as object), review: ack, links: links(id) };
      });

      api.post('/stories/:id/budget', { config: { permission: 'budget' } }, async (request) => {
        const id = storyIdParam(request);
        const { budgetCredits } = parse(raiseBudgetSchema, request.body);
        return client.raiseBudget(id, budgetCredits);
      });

      api.post('/stories/:id/cancel', { config: { permission: 'cancel' } }, async (request, reply) => {
        const id = storyIdParam(request);
        await client.cancel(id);
        void reply.code(202);
        return { storyId: id, status: 'cancel-requested' as const };
      });

      api.post('/stories/:id/review-link', { config: { permission: 'mint-review-link' } }, async (request) => {
        const id = storyIdParam(request);
        const { expiresInSeconds } = parse(reviewLinkRequestSchema, request.body ?? {});
        await client.progress(id); // 404 for an unknown story rather than a link to nothing
        return auth.reviewLink(id, base, expiresInSeconds);
      });

      api.get('/models', { config: { permission: 'list' } }, async () => {
        if (!client.models) throw new ApiError('not-found', 'this server lists no models');
        return client.models();
      });

      api.post('/estimate', { config: { permission: 'estimate' } }, async (request) => {
        const { story } = readStoryBody(request.body);
        return client.estimate(story);
      });
    },
    { prefix: '/v1' }
  );
}

/** Parses `value` with `schema` or throws a 400 naming each bad field (prefixed with `prefix`). */
function parse<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalid(issuesOf(result.error, prefix).map((f) => (f.field === '(root)' ? { ...f, field: '(body)' } : f)));
}

function invalid(fields: FieldIssue[]): ApiError {
  return new ApiError(
    'invalid',
    `invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
    fields
  );
}

/**
 * Reads a story body: the story itself, or `{ id?, story }` (a story never has a `story` field, so the two cannot
 * be confused). Validates the story so errors name fields as the caller sent them (`story.shots[0].duration`).
 */
function readStoryBody(body: unknown): { id?: string; story: unknown; spec: StorySpec } {
  const envelope = !!body && typeof body === 'object' && !Array.isArray(body) && 'story' in body;
  if (envelope) {
    const { id, story } = parse(createStoryEnvelopeSchema, body);
    return { id, story: (body as { story: unknown }).story, spec: checkApiStory(story, 'story') };
  }
  const spec = checkApiStory(parse(storySpecSchema, body), '');
  return { story: body, spec };
}

/**
 * Over HTTP, keyframe and audio references must be http(s) URLs: a local path would make the worker read a file of
 * the server's own disk and publish it under /assets.
 */
function checkApiStory(spec: StorySpec, prefix: string): StorySpec {
  const fields: FieldIssue[] = [];
  const remote = (ref: string) => /^https?:\/\//i.test(ref.trim());
  spec.keyframes?.forEach((ref, i) => {
    if (ref !== null && !remote(ref)) {
      fields.push({ field: joinField(prefix, `keyframes[${i}]`), message: 'must be an http(s) URL over the API' });
    }
  });
  if (spec.audio && !remote(spec.audio.src)) {
    fields.push({ field: joinField(prefix, 'audio.src'), message: 'must be an http(s) URL over the API' });
  }
  if (fields.length) throw invalid(fields);
  return spec;
}

function storyIdParam(request: FastifyRequest): string {
  return parse(storyIdSchema, (request.params as { id?: string }).id, 'id');
}

function shotNumberParam(request: FastifyRequest): number {
  const n = (request.params as { n?: string }).n ?? '';
  if (!/^[1-9]\d{0,3}$/.test(n)) throw invalid([{ field: 'n', message: 'must be a shot number counting from 1' }]);
  return Number(n);
}

function idempotencyKey(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw invalid([{ field: 'Idempotency-Key', message: 'must be 1-200 printable ASCII characters' }]);
  }
  return key;
}

/**
 * The update id of a review: from its Idempotency-Key (so a retried POST is applied once, whichever server replica
 * answers it), or undefined for a new one.
 */
function reviewUpdateId(request: FastifyRequest, storyId: string): string | undefined {
  const key = idempotencyKey(request);
  return key === undefined
    ? undefined
    : `review-${sha256Hex(`${storyId}\u0000${request.url}\u0000${key}`).slice(0, 32)}`;
}

/** The story id an Idempotency-Key stands for: stable across processes and restarts. */
export function storyIdForKey(key: string): string {
  return `story-${sha256Hex(`idempotency-key:${key}`).slice(0, 24)}`;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > REMEMBERED_KEYS) map.delete(map.keys().next().value as string);
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** JSON with object keys sorted, so the same body sent with its keys in another order has the same fingerprint. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
