import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZodError } from 'zod';
import { ApiError } from './api-error';
import type { FaceService } from './face-service';

// What every face's HTTP server shares: error bodies, JSON parsing, and pauses a hung-up client cuts short.

/** Errors as JSON `{ detail }` (ApiError, zod errors as 400, anything else by its status), unknown routes as 404. */
export function errorBody(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError | ZodError, _req, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    if (err instanceof ApiError) {
      return reply
        .code(err.status)
        .headers(err.headers)
        .send(err.body ?? { detail: err.detail });
    }
    if (err instanceof ZodError) {
      const detail = err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return reply.code(400).send({ detail });
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    return reply.code(status).send({ detail: status < 500 ? err.message : 'Internal Server Error' });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ detail: `Not Found: ${req.method} ${req.url.split('?')[0]}` });
  });
}

/** JSON bodies, an empty one read as none (SDKs send Content-Type: application/json on bodiless requests). */
export function acceptJsonBodies(app: FastifyInstance): void {
  // The SDK sends Content-Type: application/json on DELETE without a body; Luma accepts that, so must we.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError(400, 'body: is not valid JSON'), undefined);
    }
  });
}

/** Waits `ms`, or less if the client hangs up or the emulator closes (then the answer goes into the void at once). */
export async function pauseRequest(req: FastifyRequest, ms: number, closing: AbortSignal): Promise<void> {
  const gone = new AbortController();
  const socket = req.raw.socket;
  const onClose = () => gone.abort();
  socket.once('close', onClose);
  try {
    await sleep(ms, undefined, { signal: AbortSignal.any([closing, gone.signal]) });
  } catch {
    // the client gave up or the emulator is closing
  } finally {
    socket.off('close', onClose);
  }
}

/**
 * Answers a create the face has accepted as the fault injector says: the response lost (the connection cut, the work
 * accepted and billed all the same: the case reconciliation exists for), late, or `answer` at once.
 */
export async function answerAccepted(
  req: FastifyRequest,
  reply: FastifyReply,
  face: { service: FaceService; dropped: WeakSet<FastifyRequest>; closing: AbortSignal },
  answer: () => FastifyReply
): Promise<FastifyReply> {
  const { service } = face;
  if (service.faults.dropResponse()) {
    service.countRequest('dropped');
    face.dropped.add(req);
    reply.hijack();
    req.raw.socket.destroy();
    return reply;
  }
  const slow = service.faults.slowCreateDelayMs();
  if (slow > 0) await pauseRequest(req, slow, face.closing);
  return answer();
}
