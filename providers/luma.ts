import LumaAI from 'lumaai';
import type { Generation } from 'lumaai/resources/generations/generations';
import { FailureType, nonRetryable, retryAfter } from '../common/failures';
import type { GenerationPriceInput } from '../common/generations';
import type { ProviderGeneration, ProviderTimings, VideoProvider } from './types';

// Luma Dream Machine through the `lumaai` SDK. A create carries its idempotency key in its callback URL, which Luma
// echoes in `request`; `GET /generations` (newest first, no filter) is how a lost create is found again.

/** What the Luma provider needs. */
export interface LumaProviderOptions {
  luma: LumaAI;
  /** Base of the callback URLs (our HTTP server); the key of each generation rides in it. */
  callbackBaseUrl: string;
  timings: ProviderTimings;
}

/** The fields of a create request that identify it when Luma echoes it back. */
interface CreateBody {
  prompt: string;
  model: string;
  keyframes?: unknown;
  callback_url: string;
}

const PAGE_SIZE = 100;

/** Whether an echoed request is the one we sent. */
export function isSameRequest(echo: Record<string, unknown> | undefined, sent: CreateBody): boolean {
  if (!echo) return false;
  // The callback URL carries this attempt's key, so where Luma echoes it, it alone identifies the request.
  if (typeof echo.callback_url === 'string') return echo.callback_url === sent.callback_url;
  return (
    echo.prompt === sent.prompt &&
    echo.model === sent.model &&
    // Keyframe URLs carry a fresh signature on every attempt; the file they name is what identifies the request.
    JSON.stringify(unsigned(echo.keyframes)) === JSON.stringify(unsigned(sent.keyframes))
  );
}

/** Keyframes of a request with the query (signature) of each URL dropped. */
function unsigned(keyframes: unknown): unknown {
  if (!keyframes || typeof keyframes !== 'object') return keyframes ?? null;
  return Object.fromEntries(
    Object.entries(keyframes as Record<string, { url?: unknown }>).map(([frame, k]) => [
      frame,
      typeof k?.url === 'string' ? { ...k, url: k.url.split('?')[0] } : k,
    ])
  );
}

/** The idempotency key a generation was created with (the `key` parameter of its echoed callback URL). */
export function keyOfGeneration(g: Pick<Generation, 'request'>): string | undefined {
  const url = (g.request as { callback_url?: unknown } | undefined)?.callback_url;
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).searchParams.get('key') ?? undefined;
  } catch {
    return undefined;
  }
}

/** Builds the Luma provider. */
export function createLumaProvider(options: LumaProviderOptions): VideoProvider {
  const { luma, timings } = options;
  const callbackUrl = (key: string) =>
    `${options.callbackBaseUrl.replace(/\/+$/, '')}/v1/luma/callback?key=${encodeURIComponent(key)}`;
  const readOptions = (signal: AbortSignal) => ({
    timeout: timings.listTimeoutMs,
    maxRetries: 0,
    signal: oneShot(signal),
  });

  return {
    id: 'luma',
    timings,

    async prepareImage(input) {
      const body = {
        prompt: input.prompt,
        model: input.model,
        aspect_ratio: input.aspectRatio,
        callback_url: callbackUrl(input.key),
      };
      return { key: input.key, model: input.model, kind: 'image', body };
    },

    async prepareVideo(input, providerUrl) {
      const keyframes: { frame0: { type: 'image'; url: string }; frame1?: { type: 'image'; url: string } } = {
        frame0: { type: 'image', url: await providerUrl(input.frame0Url) },
      };
      if (input.frame1Url) keyframes.frame1 = { type: 'image', url: await providerUrl(input.frame1Url) };
      const body = {
        prompt: input.prompt,
        model: input.model,
        aspect_ratio: input.aspectRatio,
        resolution: input.resolution,
        duration: `${input.durationSeconds}s`,
        keyframes,
        callback_url: callbackUrl(input.key),
      };
      return { key: input.key, model: input.model, kind: 'video', body };
    },

    async create(prepared, signal) {
      const options = { maxRetries: 0, timeout: timings.createTimeoutMs, signal: oneShot(signal) } as const;
      const created =
        prepared.kind === 'image'
          ? await luma.generations.image.create(
              prepared.body as Parameters<typeof luma.generations.image.create>[0],
              options
            )
          : // The SDK's type lists only the older models; the API accepts the newer ones.
            await luma.generations.video.create(
              prepared.body as Parameters<typeof luma.generations.video.create>[0],
              options
            );
      if (!created.id) throw new Error('Luma answered a create without a generation id');
      return fromLuma(created);
    },

    isSameCreate(generation, prepared) {
      const sent = prepared.body as CreateBody;
      return generation.key !== undefined
        ? generation.key === prepared.key
        : isSameRequest(generation.echo as Record<string, unknown> | undefined, sent);
    },

    async get({ id }, signal) {
      try {
        return fromLuma(await luma.generations.get(id, readOptions(signal)));
      } catch (err) {
        if (err instanceof LumaAI.NotFoundError) return 'missing';
        throw err;
      }
    },

    async stop({ id }, signal) {
      try {
        await luma.generations.delete(id, readOptions(signal));
        // Luma's delete answers the same for a generation in flight and one that is over; either way it is gone.
        return 'stopped';
      } catch (err) {
        if (err instanceof LumaAI.NotFoundError) return 'missing';
        throw err;
      }
    },

    async list({ sinceMs, maxPages }, signal) {
      const found: ProviderGeneration[] = [];
      for (let page = 0; page < maxPages; page++) {
        const res = await luma.generations.list({ limit: PAGE_SIZE, offset: page * PAGE_SIZE }, readOptions(signal));
        for (const g of res.generations) {
          const created = g.created_at ? Date.parse(g.created_at) : Number.POSITIVE_INFINITY;
          if (created >= sinceMs) found.push(fromLuma(g));
        }
        const oldest = res.generations.at(-1)?.created_at;
        if (!res.has_more || res.generations.length === 0 || (oldest && Date.parse(oldest) < sinceMs)) return found;
      }
      throw new Error(
        `could not look back to ${new Date(sinceMs).toISOString()} within ${maxPages} pages of generations`
      );
    },

    classify: classifyLumaError,
  };
}

/** A Luma generation in reelflow's words. */
function fromLuma(g: Generation): ProviderGeneration {
  const state = g.state === 'completed' || g.state === 'failed' || g.state === 'dreaming' ? g.state : 'queued';
  return {
    id: g.id!,
    model: (g.request as { model?: string } | undefined)?.model ?? g.model ?? undefined,
    key: keyOfGeneration(g),
    state,
    failureReason: state === 'failed' ? (g.failure_reason ?? 'unknown failure') : undefined,
    assetUrl: state === 'completed' ? (g.assets?.video ?? g.assets?.image ?? undefined) : undefined,
    createdAtMs: g.created_at ? Date.parse(g.created_at) : Date.now(),
    price: priceOf(g),
    echo: g.request,
  };
}

/**
 * A signal for one SDK request that follows `signal`. The SDK never removes the listener it adds to the signal it is
 * given, so handing it a long-lived activity signal on every poll would pile listeners up; this one is dropped with
 * its request (a weak link keeps the parent from holding it).
 */
function oneShot(signal: AbortSignal): AbortSignal {
  return AbortSignal.any([signal]);
}

/** What a generation found at Luma is priced by, read from its echoed request. */
function priceOf(g: Generation): GenerationPriceInput {
  const request = (g.request ?? {}) as {
    model?: string;
    duration?: string;
    resolution?: string;
    keyframes?: { frame0?: unknown; frame1?: unknown };
  };
  const kind = g.generation_type === 'image' || !('duration' in request || 'keyframes' in request) ? 'image' : 'video';
  if (kind === 'image') return { kind, model: request.model ?? g.model ?? '' };
  return {
    kind,
    model: request.model ?? g.model ?? '',
    durationSeconds: Number.parseInt(request.duration ?? '5', 10) || 5,
    resolution: request.resolution,
    frame0: !!request.keyframes?.frame0,
    frame1: !!request.keyframes?.frame1,
  };
}

/**
 * Turns an SDK error into a failure Temporal knows how to retry (or not). A cancellation of the activity surfaces as
 * the cancellation itself, not as an abort error.
 */
export function classifyLumaError(err: unknown, cancellation?: AbortSignal): Error {
  if (cancellation?.aborted && err instanceof LumaAI.APIUserAbortError) {
    return cancellation.reason instanceof Error ? cancellation.reason : new Error(String(cancellation.reason));
  }
  if (err instanceof LumaAI.AuthenticationError) {
    return nonRetryable(FailureType.ProviderAuth, `Luma rejected the API key (401): check LUMAAI_API_KEY`);
  }
  if (err instanceof LumaAI.RateLimitError) {
    const header = (err.headers as Record<string, string | undefined> | undefined)?.['retry-after'];
    const seconds = Number(header);
    const delayMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5000;
    return retryAfter(FailureType.RateLimited, `Luma rate limit (429): ${detailOf(err)}`, delayMs);
  }
  if (err instanceof LumaAI.BadRequestError || err instanceof LumaAI.UnprocessableEntityError) {
    const detail = detailOf(err);
    const type = /credit|balance|insufficient/i.test(detail) ? FailureType.InsufficientCredits : FailureType.BadInput;
    return nonRetryable(type, `Luma refused the request (${err.status}): ${detail}`);
  }
  if (err instanceof LumaAI.NotFoundError) {
    return nonRetryable(FailureType.BadInput, `Luma does not know this generation (404): ${detailOf(err)}`);
  }
  if (err instanceof LumaAI.APIUserAbortError)
    return new Error('the attempt ran out of time; the next one looks first');
  // Connection errors, timeouts and 5xx are transient; the next attempt reconciles before creating again.
  return err instanceof Error ? err : new Error(String(err));
}

function detailOf(err: InstanceType<typeof LumaAI.APIError>): string {
  const body = err.error as { detail?: unknown } | undefined;
  if (body && typeof body.detail === 'string') return body.detail;
  if (body && body.detail !== undefined) return JSON.stringify(body.detail);
  return err.message;
}
