import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error';
import { answerAccepted, pauseRequest } from './http-server';
import type { Account } from './accounts';
import type { GenerationSpec } from './generation';
import type { LumaService } from './luma-service';
import { validateImageRequest, validateListQuery, validateVideoRequest } from './validate-request';

/** Routes that create (and bill) a generation; faults hit these unless their scope is 'all'. */
const CREATE_ROUTES = new Set(['/generations', '/generations/video', '/generations/image']);

function isCreate(request: FastifyRequest, prefix: string): boolean {
  const route = request.routeOptions.url ?? '';
  return request.method === 'POST' && CREATE_ROUTES.has(route.slice(prefix.length));
}

/**
 * Registers the Dream Machine API under `prefix`: auth, injected faults, then the real work. Errors are thrown as
 * ApiError and turned into `{ detail }` by the server's error handler.
 */
export function registerApiRoutes(
  app: FastifyInstance,
  service: LumaService,
  prefix: string,
  closing: AbortSignal
): void {
  // Kept beside the request rather than decorated onto it, so fastify's global request type stays untouched.
  const accounts = new WeakMap<FastifyRequest, Account>();
  const dropped = new WeakSet<FastifyRequest>();
  const account = (request: FastifyRequest): Account => {
    const found = accounts.get(request);
    if (!found) throw new ApiError(401, 'Not authenticated');
    return found;
  };
  app.register(
    async (api) => {
      api.addHook('preHandler', async (request) => {
        accounts.set(request, service.authenticate(request.headers.authorization));
        const fault = service.faults.requestFault(isCreate(request, prefix));
        if (fault.kind === 'server-error') {
          throw new ApiError(fault.status, 'Internal server error (injected by the emulator)');
        }
        if (fault.kind === 'rate-limit') {
          service.countInjectedRateLimit(account(request));
          throw new ApiError(429, 'Too many requests (injected by the emulator)', { 'retry-after': '1' });
        }
      });
      api.addHook('onSend', async (request, _reply, payload) => {
        const delay = service.faults.responseDelayMs(isCreate(request, prefix));
        if (delay > 0) await sleep(delay, undefined, { signal: closing });
        return payload;
      });
      api.addHook('onResponse', async (request, reply) => {
        if (!dropped.has(request)) service.countRequest(reply.statusCode);
      });

      const pause = (req: FastifyRequest, ms: number) => pauseRequest(req, ms, closing);

      const create =
        (validate: (body: unknown) => GenerationSpec) => async (req: FastifyRequest, reply: FastifyReply) => {
          const record = service.create(account(req), validate(req.body), req.body);
          return answerAccepted(req, reply, { service, dropped, closing }, () =>
            reply.code(201).send(service.json(record))
          );
        };
      api.post('/generations', create(validateVideoRequest));
      api.post('/generations/video', create(validateVideoRequest));
      api.post('/generations/image', create(validateImageRequest));

      api.get('/generations', async (req) => {
        const { limit, offset } = validateListQuery(req.query as Record<string, unknown>);
        const slow = service.faults.listDelayMs();
        if (slow > 0) await pause(req, slow);
        const { items, hasMore } = service.list(account(req), limit, offset);
        return {
          generations: items.map((g) => service.json(g)),
          count: items.length,
          has_more: hasMore,
          limit,
          offset,
        };
      });
      api.get<{ Params: { id: string } }>('/generations/:id', async (req) =>
        service.json(service.get(account(req), req.params.id))
      );
      api.delete<{ Params: { id: string } }>('/generations/:id', async (req, reply) => {
        service.delete(account(req), req.params.id);
        return reply.code(204).send();
      });
      api.get('/credits', async (req) => ({ credit_balance: service.balance(account(req)) }));
      api.get('/ping', async () => ({ message: 'pong' }));
    },
    { prefix }
  );
}
