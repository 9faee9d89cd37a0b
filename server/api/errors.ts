import { status as GrpcStatus } from '@grpc/grpc-js';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ValidationError, type FieldIssue } from '../../common/validation';
import { ReelflowError } from '../../client/reelflow-client';

/** Machine-readable error codes of the HTTP API; each has one HTTP status. */
export const ERROR_STATUS = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'range-not-satisfiable': 416,
  rejected: 422,
  internal: 500,
  unavailable: 503,
} as const;

const CODE_OF_STATUS = new Map<number, ApiErrorCode>(
  Object.entries(ERROR_STATUS).map(([code, status]) => [status, code as ApiErrorCode])
);

/** Machine-readable error code of the HTTP API. */
export type ApiErrorCode = keyof typeof ERROR_STATUS;

/** The body of every error answer: `{ error: { code, message, fields? } }`. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; fields?: FieldIssue[] };
}

/** An error a route throws to answer with a given code; the error handler turns it into JSON. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly fields?: FieldIssue[],
    readonly headers: Record<string, string> = {}
  ) {
    super(message);
  }

  /** The HTTP status of this error's code. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** Maps anything a route may throw onto an API error; unknown errors become `internal` (details stay in the log). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ReelflowError) return new ApiError(err.code, err.message, err.fields);
  if (err instanceof ValidationError) return new ApiError('invalid', err.message, err.issues);
  const httpError = err as Partial<FastifyError> & { status?: number; headers?: Record<string, string> };
  if (httpError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new ApiError('unsupported-media-type', 'send the body as application/json');
  }
  const status = httpError.statusCode ?? httpError.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own 4xx (unparsable JSON, body too large) and @fastify/static's (416 with its Content-Range) keep
    // their status; anything without a code of its own is the caller's bad request.
    const code = CODE_OF_STATUS.get(status) ?? 'invalid';
    const message = httpError.message || 'bad request';
    const fields = code === 'invalid' ? [{ field: '(body)', message }] : undefined;
    const headers = Object.fromEntries(
      Object.entries(httpError.headers ?? {}).filter(([name]) => /^content-range$/i.test(name))
    );
    return new ApiError(code, message, fields, headers);
  }
  // gRPC UNAVAILABLE / DEADLINE_EXCEEDED from Temporal: the cluster is down or slow, a retry may work.
  const grpc = err as { code?: unknown };
  if (grpc.code === GrpcStatus.UNAVAILABLE || grpc.code === GrpcStatus.DEADLINE_EXCEEDED) {
    return new ApiError('unavailable', 'Temporal is unavailable; try again in a moment');
  }
  return new ApiError('internal', 'internal error');
}

/** Sends an API error as JSON with its status. */
export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  const body: ApiErrorBody = { error: { code: error.code, message: error.message } };
  if (error.fields?.length) body.error.fields = error.fields;
  return reply
    .code(error.status)
    .headers(error.headers)
    .header('content-type', 'application/json; charset=utf-8')
    .send(body);
}

/** Installs the error and not-found handlers that answer in the API's JSON error format. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const error = toApiError(err);
    if (error.status >= 500) request.log.error({ err }, 'request failed');
    return sendApiError(reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, new ApiError('not-found', `no route ${request.method} ${request.url.split('?')[0]}`))
  );
}
