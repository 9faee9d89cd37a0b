import { ApiError, createFalClient, type FalClient, type QueueStatus } from '@fal-ai/client';
import { FailureType, nonRetryable, retryAfter } from '../common/failures';
import type { GenerationPriceInput, VideoGenerationInput } from '../common/generations';
import { VIDEO_MODEL_CATALOG, videoModelInfo, type VideoModelInfo } from '../common/models';
import type { PreparedCreate, ProviderGeneration, ProviderTimings, VideoProvider } from './types';

// fal.ai's queue through the unmodified `@fal-ai/client` SDK (submit, status, result, cancel), and its Platform API
// `GET /v1/models/requests/by-endpoint` (no SDK method; plain HTTP) to find a submit whose answer was lost. fal has
// no idempotency key; a create carries reelflow's key in the fragment of its START image URL, which fal echoes in
// the request's `json_input` and which no HTTP client ever sends to the image's server, so any signed URL stays
// valid. fal bills results only: a request that fails or is cancelled before it finishes costs nothing.

/** What the fal provider needs. */
export interface FalProviderOptions {
  apiKey: string;
  /**
   * Where fal's hosts are reached instead (the emulator): a request for `https://<host>/<path>` goes to
   * `<baseUrl>/<host>/<path>`, through the SDK's documented `requestMiddleware`. Unset: fal itself.
   */
  baseUrl?: string;
  timings: ProviderTimings;
}

/** Fragment parameter of the START image URL that carries the idempotency key. */
export const KEY_FRAGMENT = 'reelflow-key';
const PLATFORM_API = 'https://api.fal.ai/v1';
const PAGE_SIZE = 100;
/** A 429 carries no delay fal documents; this is ours. */
const RATE_LIMIT_DELAY_MS = 2000;

/** How each fal endpoint takes a clip request, and which of its fields is the START image. */
const ENDPOINTS: Record<
  string,
  { startField: string; input: (i: VideoGenerationInput, start: string, end?: string) => Record<string, unknown> }
> = {
  'fal-ai/kling-video/v2.5-turbo/pro/image-to-video': {
    startField: 'image_url',
    input: (i, start, end) => ({
      prompt: i.prompt,
      image_url: start,
      duration: String(i.durationSeconds),
      ...(end && { tail_image_url: end }),
    }),
  },
  'fal-ai/veo3.1/fast/first-last-frame-to-video': {
    startField: 'first_frame_url',
    input: (i, start, end) => ({
      prompt: i.prompt,
      first_frame_url: start,
      last_frame_url: end,
      duration: `${i.durationSeconds}s`,
      resolution: i.resolution,
      aspect_ratio: i.aspectRatio,
      // reelflow lays its own audio under the story; audio would also cost half as much again.
      generate_audio: false,
    }),
  },
};

const FAL_MODELS = (VIDEO_MODEL_CATALOG as readonly VideoModelInfo[]).filter((m) => m.provider === 'fal');

/** A URL with reelflow's idempotency key in its fragment. */
export function withKey(url: string, key: string): string {
  return `${url.split('#')[0]}#${KEY_FRAGMENT}=${encodeURIComponent(key)}`;
}

/** The idempotency key in the START image URL of an echoed fal input, if it carries one. */
export function keyOfInput(input: unknown): string | undefined {
  if (!input || typeof input !== 'object') return undefined;
  for (const { startField } of Object.values(ENDPOINTS)) {
    const url = (input as Record<string, unknown>)[startField];
    if (typeof url !== 'string' || !url.includes('#')) continue;
    const value = new URLSearchParams(url.slice(url.indexOf('#') + 1)).get(KEY_FRAGMENT);
    if (value) return value;
  }
  return undefined;
}

/** Where a fal URL goes: fal itself, or the same host and path under `baseUrl`. */
export function falUrl(url: string, baseUrl: string | undefined): string {
  if (!baseUrl) return url;
  const u = new URL(url);
  return `${baseUrl.replace(/\/+$/, '')}/${u.host}${u.pathname}${u.search}`;
}

/** One item of `GET /v1/models/requests/by-endpoint` (with `expand=payloads`). */
interface ListedRequest {
  request_id: string;
  endpoint_id: string;
  sent_at?: string | null;
  started_at?: string | null;
  ended_at?: string | null;
  status_code?: number | null;
  json_input?: Record<string, unknown> | null;
  json_output?: { video?: { url?: string } } | null;
}

/** Builds the fal provider. */
export function createFalProvider(options: FalProviderOptions): VideoProvider {
  const { timings } = options;

  /**
   * A client for one call. Its fetch ends every request at `signal` or `timeoutMs`, and on any failure aborts the
   * signal the SDK watches between its own retries: the SDK then throws the first error instead of sending the
   * request again (a resent submit is a second paid request), and the activity decides what happens next.
   */
  async function call<T>(
    signal: AbortSignal,
    timeoutMs: number,
    fn: (client: FalClient, stopRetries: AbortSignal) => Promise<T>
  ): Promise<T> {
    const stopRetries = new AbortController();
    const client = createFalClient({
      credentials: options.apiKey,
      requestMiddleware: async (request) => ({ ...request, url: falUrl(request.url, options.baseUrl) }),
      retry: { maxRetries: 0 },
      fetch: async (input, init) => {
        try {
          const response = await fetch(input, {
            ...init,
            signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
          });
          if (!response.ok) stopRetries.abort();
          return response;
        } catch (err) {
          stopRetries.abort();
          throw err;
        }
      },
    });
    return fn(client, stopRetries.signal);
  }

  const endpointOf = (model: string | undefined): string => {
    const info = videoModelInfo(model ?? '');
    if (!info || info.provider !== 'fal') throw nonRetryable(FailureType.BadInput, `${model} is not a fal model`);
    return info.providerModel;
  };

  async function listEndpoint(
    model: VideoModelInfo,
    sinceMs: number,
    maxPages: number,
    signal: AbortSignal
  ): Promise<ProviderGeneration[]> {
    const found: ProviderGeneration[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const query = new URLSearchParams({
        endpoint_id: model.providerModel,
        start: new Date(sinceMs).toISOString(),
        limit: String(PAGE_SIZE),
        expand: 'payloads',
        ...(cursor && { cursor }),
      });
      const response = await fetch(falUrl(`${PLATFORM_API}/models/requests/by-endpoint?${query}`, options.baseUrl), {
        headers: { Authorization: `Key ${options.apiKey}`, Accept: 'application/json' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(timings.listTimeoutMs)]),
      });
      const body = (await response.json().catch(() => ({}))) as {
        items?: ListedRequest[];
        next_cursor?: string | null;
        has_more?: boolean;
        detail?: unknown;
      };
      if (!response.ok) {
        throw new ApiError({
          message: `listing fal requests answered ${response.status}`,
          status: response.status,
          body,
        });
      }
      for (const item of body.items ?? []) found.push(fromListed(item, model));
      if (!body.has_more || !body.next_cursor) return found;
      cursor = body.next_cursor;
    }
    throw new Error(`could not list fal requests back to ${new Date(sinceMs).toISOString()} within ${maxPages} pages`);
  }

  return {
    id: 'fal',
    timings,

    async prepareVideo(input, providerUrl) {
      const endpoint = endpointOf(input.model);
      const shape = ENDPOINTS[endpoint];
      if (!shape) throw nonRetryable(FailureType.BadInput, `reelflow does not know how to call fal's ${endpoint}`);
      const start = withKey(await providerUrl(input.frame0Url), input.key);
      const end = input.frame1Url ? await providerUrl(input.frame1Url) : undefined;
      return { key: input.key, model: input.model, kind: 'video', body: shape.input(input, start, end) };
    },

    async create(prepared, signal) {
      const endpoint = endpointOf(prepared.model);
      const submitted = await call(signal, timings.createTimeoutMs, (client, stopRetries) =>
        client.queue.submit(endpoint, { input: prepared.body as Record<string, unknown>, abortSignal: stopRetries })
      );
      return {
        id: submitted.request_id,
        model: prepared.model,
        key: prepared.key,
        state: 'queued',
        createdAtMs: Date.now(),
        price: priceOf(prepared.model, prepared.body as Record<string, unknown>),
      };
    },

    isSameCreate(generation, prepared: PreparedCreate) {
      return generation.key === prepared.key;
    },

    async get({ id, model }, signal) {
      const endpoint = endpointOf(model);
      const base = { id, model, createdAtMs: Date.now(), price: { kind: 'video', model: model ?? '' } } as const;
      try {
        const status = (await call(signal, timings.listTimeoutMs, (client, stopRetries) =>
          client.queue.status(endpoint, { requestId: id, abortSignal: stopRetries })
        )) as QueueStatus & { error?: string | null; error_type?: string | null };
        if (status.status === 'IN_QUEUE') return { ...base, state: 'queued' };
        if (status.status === 'IN_PROGRESS') return { ...base, state: 'dreaming' };
        if (status.error) {
          return { ...base, state: 'failed', failureReason: failureText(status.error, status.error_type) };
        }
        try {
          const result = await call(signal, timings.listTimeoutMs, (client, stopRetries) =>
            client.queue.result(endpoint, { requestId: id, abortSignal: stopRetries })
          );
          const url = (result.data as { video?: { url?: string } } | undefined)?.video?.url;
          return { ...base, state: 'completed', assetUrl: url };
        } catch (err) {
          // The request's own outcome (a model error, a content refusal) rather than trouble reading it.
          if (
            err instanceof ApiError &&
            err.status >= 400 &&
            err.status < 500 &&
            err.status !== 404 &&
            err.status !== 429
          ) {
            return { ...base, state: 'failed', failureReason: detailOf(err) };
          }
          throw err;
        }
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return 'missing';
        throw err;
      }
    },

    async stop({ id, model }, signal) {
      const endpoint = endpointOf(model);
      try {
        await call(signal, timings.listTimeoutMs, (client, stopRetries) =>
          client.queue.cancel(endpoint, { requestId: id, abortSignal: stopRetries })
        );
        return 'stopped';
      } catch (err) {
        if (err instanceof ApiError && err.status === 400) return 'ended';
        if (err instanceof ApiError && err.status === 404) return 'missing';
        throw err;
      }
    },

    async list({ sinceMs, models, maxPages }, signal) {
      const which = models?.length ? FAL_MODELS.filter((m) => models.includes(m.id)) : FAL_MODELS;
      const found: ProviderGeneration[] = [];
      for (const model of which) found.push(...(await listEndpoint(model, sinceMs, maxPages, signal)));
      return found;
    },

    classify: classifyFalError,
  };
}

/** A listed fal request in reelflow's words. */
function fromListed(item: ListedRequest, model: VideoModelInfo): ProviderGeneration {
  const input = item.json_input ?? {};
  const ok = typeof item.status_code === 'number' && item.status_code >= 200 && item.status_code < 300;
  const state = !item.ended_at ? (item.started_at ? 'dreaming' : 'queued') : ok ? 'completed' : 'failed';
  return {
    id: item.request_id,
    model: model.id,
    key: keyOfInput(input),
    state,
    failureReason: state === 'failed' ? `fal answered ${item.status_code ?? 'no status'}` : undefined,
    assetUrl: state === 'completed' ? item.json_output?.video?.url : undefined,
    createdAtMs: item.sent_at ? Date.parse(item.sent_at) : Date.now(),
    price: priceOf(model.id, input),
    echo: input,
  };
}

/** What a fal clip request is priced by, read from its input. */
function priceOf(model: string, input: Record<string, unknown>): GenerationPriceInput {
  const end = input.tail_image_url ?? input.last_frame_url;
  return {
    kind: 'video',
    model,
    durationSeconds: Number.parseInt(String(input.duration ?? '5'), 10) || 5,
    resolution: typeof input.resolution === 'string' ? input.resolution : undefined,
    frame0: true,
    frame1: typeof end === 'string',
  };
}

function failureText(error: string, type: string | null | undefined): string {
  return type ? `${error} (${type})` : error;
}

/** The detail of a fal error: the flat `detail` string, or the model's field errors (`field: message; …`). */
function detailOf(err: InstanceType<typeof ApiError>): string {
  const body = err.body as { detail?: unknown; error_type?: unknown } | undefined;
  const detail = body?.detail;
  if (typeof detail === 'string')
    return failureText(detail, typeof body?.error_type === 'string' ? body.error_type : null);
  if (Array.isArray(detail)) {
    return detail
      .map((d: { loc?: unknown[]; msg?: string; type?: string }) => {
        const field = (d.loc ?? []).filter((p) => p !== 'body').join('.');
        return `${d.type === 'content_policy_violation' ? 'content_policy_violation: ' : ''}${field ? `${field}: ` : ''}${d.msg ?? ''}`;
      })
      .join('; ');
  }
  return err.message;
}

/**
 * Turns a fal SDK or HTTP error into a failure Temporal knows how to retry (or not). A cancellation of the activity
 * surfaces as the cancellation itself.
 */
export function classifyFalError(err: unknown, cancellation?: AbortSignal): Error {
  const aborted = err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
  if (cancellation?.aborted && aborted) {
    return cancellation.reason instanceof Error ? cancellation.reason : new Error(String(cancellation.reason));
  }
  if (err instanceof ApiError) {
    const detail = detailOf(err);
    if (err.status === 401) return nonRetryable(FailureType.ProviderAuth, `fal rejected the key (401): check FAL_KEY`);
    if (err.status === 403) {
      const type = /balance|locked|exhausted|credit/i.test(detail)
        ? FailureType.InsufficientCredits
        : FailureType.ProviderAuth;
      return nonRetryable(type, `fal refused the account (403): ${detail}`);
    }
    if (err.status === 429)
      return retryAfter(FailureType.RateLimited, `fal rate limit (429): ${detail}`, RATE_LIMIT_DELAY_MS);
    if (err.status === 422 && /content_policy_violation/.test(detail)) {
      return nonRetryable(FailureType.ProviderRefused, `fal refused the content (422): ${detail}`);
    }
    if (err.status === 400 || err.status === 422) {
      return nonRetryable(FailureType.BadInput, `fal refused the request (${err.status}): ${detail}`);
    }
    if (err.status === 404)
      return nonRetryable(FailureType.BadInput, `fal does not know this request (404): ${detail}`);
  }
  if (aborted) return new Error('the attempt ran out of time; the next one looks first');
  // Connection errors, timeouts and 5xx are transient; the next attempt reconciles before creating again.
  return err instanceof Error ? err : new Error(String(err));
}
