import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Account } from '../accounts';
import { ApiError } from '../api-error';
import { answerAccepted, pauseRequest } from '../http-server';
import { FAL_ENDPOINTS } from './endpoints';
import { statusCodeOf, type FalRequestRecord, type FalService } from './service';

// fal's hosts, each under its name as the first path segment (the provider's `FAL_BASE_URL` rule): the queue
// (`queue.fal.run`: submit, status, result, cancel) and the Platform API (`api.fal.ai/v1`: the request listing).

/** Path prefix of the queue host. */
export const QUEUE_PREFIX = '/queue.fal.run';
/** Path prefix of the Platform API. */
export const PLATFORM_PREFIX = '/api.fal.ai/v1';

const MAX_LIMIT = 100;
const DAY_MS = 24 * 3600 * 1000;

/** Registers the fal routes: auth, injected faults, then the real work. */
export function registerFalRoutes(app: FastifyInstance, service: FalService, closing: AbortSignal): void {
  const accounts = new WeakMap<FastifyRequest, Account>();
  const dropped = new WeakSet<FastifyRequest>();
  const account = (request: FastifyRequest): Account => {
    const found = accounts.get(request);
    if (!found) throw new ApiError(401, 'Not authenticated');
    return found;
  };
  const isCreate = (request: FastifyRequest) => request.method === 'POST' && request.url.startsWith(QUEUE_PREFIX);
  const isFal = (request: FastifyRequest) =>
    request.url.startsWith(QUEUE_PREFIX) || request.url.startsWith(PLATFORM_PREFIX);

  app.addHook('preHandler', async (request) => {
    if (!isFal(request)) return;
    accounts.set(request, service.authenticate(request.headers.authorization));
    const fault = service.faults.requestFault(isCreate(request));
    if (fault.kind === 'server-error') {
      throw new ApiError(fault.status, 'Internal server error (injected by the emulator)', {
        'x-fal-error-type': 'internal_error',
      });
    }
    if (fault.kind === 'rate-limit') {
      service.countInjectedRateLimit(account(request));
      throw new ApiError(429, 'Too many requests (injected by the emulator)');
    }
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    if (!isFal(request)) return payload;
    const delay = service.faults.responseDelayMs(isCreate(request));
    if (delay > 0) await sleep(delay, undefined, { signal: closing });
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    if (isFal(request) && !dropped.has(request)) service.countRequest(reply.statusCode);
  });

  const pause = (req: FastifyRequest, ms: number) => pauseRequest(req, ms, closing);

  const queued = (record: FalRequestRecord) => {
    const base = service.queueUrl(record);
    return {
      request_id: record.id,
      response_url: base,
      status_url: `${base}/status`,
      cancel_url: `${base}/cancel`,
    };
  };

  // Submit: the endpoint id is the whole path (owner/app/sub/path).
  app.post(`${QUEUE_PREFIX}/*`, async (req: FastifyRequest, reply: FastifyReply) => {
    const endpointId = (req.params as { '*': string })['*'].replace(/\/+$/, '');
    const endpoint = FAL_ENDPOINTS.get(endpointId);
    if (!endpoint) throw new ApiError(404, `Application '${endpointId}' not found`);
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new ApiError(
        422,
        'body: Input should be a valid dictionary',
        {},
        {
          detail: [{ loc: ['body'], msg: 'Input should be a valid dictionary', type: 'dict_type' }],
        }
      );
    }
    const input = body as Record<string, unknown>;
    const spec = endpoint.validate(input);
    const webhook = (req.query as { fal_webhook?: string }).fal_webhook;
    const record = service.submit(account(req), endpoint, input, spec, webhook);
    // A lost response leaves the request queued (charged when it succeeds) and the client not knowing.
    return answerAccepted(req, reply, { service, dropped, closing }, () =>
      reply.code(200).send({ status: 'IN_QUEUE', ...queued(record), queue_position: service.queuePosition(record) })
    );
  });

  type ById = { Params: { owner: string; app: string; id: string } };
  const appOf = (p: ById['Params']) => `${p.owner}/${p.app}`;

  app.get<ById>(`${QUEUE_PREFIX}/:owner/:app/requests/:id/status`, async (req, reply) => {
    const record = service.get(account(req), appOf(req.params), req.params.id);
    const base = { status: record.status, ...queued(record) };
    if (record.status === 'IN_QUEUE')
      return reply.code(202).send({ ...base, queue_position: service.queuePosition(record) });
    if (record.status === 'IN_PROGRESS') return reply.code(202).send({ ...base, logs: [] });
    const outcome = record.outcome!;
    const inference = (record.endedAt!.getTime() - (record.startedAt ?? record.endedAt!).getTime()) / 1000;
    return reply.code(200).send({
      ...base,
      logs: [],
      metrics: { inference_time: outcome.ok ? inference : null },
      ...(!outcome.ok && { error: outcome.error, error_type: outcome.errorType }),
    });
  });

  app.get<ById>(`${QUEUE_PREFIX}/:owner/:app/requests/:id`, async (req, reply) => {
    const record = service.get(account(req), appOf(req.params), req.params.id);
    if (record.status !== 'COMPLETED') throw new ApiError(400, 'Request is still in progress');
    const outcome = record.outcome!;
    reply.header('x-fal-request-id', record.id);
    if (outcome.ok) return reply.code(200).send(outcome.output);
    if (outcome.body.error_type) reply.header('x-fal-error-type', outcome.body.error_type);
    return reply.code(outcome.statusCode).send(outcome.body);
  });

  app.put<ById>(`${QUEUE_PREFIX}/:owner/:app/requests/:id/cancel`, async (req, reply) => {
    let state: string;
    try {
      state = service.cancel(account(req), appOf(req.params), req.params.id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        throw new ApiError(404, 'Request not found', {}, { status: 'NOT_FOUND', detail: 'Request not found' });
      }
      throw err;
    }
    return reply.code(state === 'ALREADY_COMPLETED' ? 400 : 202).send({ status: state });
  });

  app.get(`${PLATFORM_PREFIX}/models/requests/by-endpoint`, async (req) => {
    const query = req.query as Record<string, string | string[] | undefined>;
    const one = (name: string) => {
      const v = query[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const endpointId = one('endpoint_id');
    if (!endpointId) {
      throw new ApiError(
        422,
        'endpoint_id: Field required',
        {},
        {
          detail: [{ loc: ['query', 'endpoint_id'], msg: 'Field required', type: 'missing' }],
        }
      );
    }
    const limit = one('limit') === undefined ? 50 : Number(one('limit'));
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new ApiError(
        422,
        `limit: must be 1 to ${MAX_LIMIT}`,
        {},
        {
          detail: [{ loc: ['query', 'limit'], msg: `Input should be between 1 and ${MAX_LIMIT}`, type: 'value_error' }],
        }
      );
    }
    const time = (name: string, fallback: number) => {
      const text = one(name);
      if (text === undefined) return fallback;
      const ms = Date.parse(text);
      if (Number.isNaN(ms)) {
        throw new ApiError(
          422,
          `${name}: not an ISO 8601 date`,
          {},
          {
            detail: [{ loc: ['query', name], msg: 'Input should be a valid datetime', type: 'datetime_parsing' }],
          }
        );
      }
      return ms;
    };
    const now = Date.now();
    const page = one('cursor') ? Number(Buffer.from(one('cursor')!, 'base64').toString('utf8')) : 0;
    const payloads = ([] as string[]).concat(query.expand ?? []).some((e) => e.split(',').includes('payloads'));
    const slow = service.faults.listDelayMs();
    if (slow > 0) await pause(req, slow);
    const all = service.listed(account(req), endpointId, time('start', now - DAY_MS), time('end', now + 1));
    const items = all.slice(page * limit, (page + 1) * limit).map((r) => ({
      request_id: r.id,
      endpoint_id: r.endpoint.id,
      sent_at: r.sentAt.toISOString(),
      started_at: r.startedAt?.toISOString() ?? null,
      ended_at: r.endedAt?.toISOString() ?? null,
      status_code: statusCodeOf(r),
      duration: r.endedAt && r.startedAt ? (r.endedAt.getTime() - r.startedAt.getTime()) / 1000 : null,
      ...(payloads && {
        json_input: r.input,
        json_output: r.outcome ? (r.outcome.ok ? r.outcome.output : r.outcome.body) : null,
      }),
    }));
    const hasMore = (page + 1) * limit < all.length;
    return {
      items,
      next_cursor: hasMore ? Buffer.from(String(page + 1)).toString('base64') : null,
      has_more: hasMore,
    };
  });
}
