import { Context, log } from '@temporalio/activity';
import LumaAI from 'lumaai';
import type { Generation } from 'lumaai/resources/generations/generations';
import type {
  GenerationPriceInput,
  ImageGenerationInput,
  PollInput,
  PollResult,
  SubmittedGeneration,
  SweepInput,
  SweptGeneration,
  VideoGenerationInput,
} from '../common/generations';
import { FailureType, nonRetryable, retryAfter } from '../common/failures';
import { whileHeartbeating } from './heartbeat';

/** What the Luma activities need. */
export interface LumaDeps {
  luma: LumaAI;
  /** Base of the callback URLs (our HTTP server); the key of each generation rides in it. */
  callbackBaseUrl: string;
  pollIntervalMs: number;
  /** Time limit of one create request; an attempt only creates when this much of its own time is left. */
  createTimeoutMs: number;
  /** Time limit of one list or get request (no SDK retries: the activity owns retries). */
  listTimeoutMs: number;
  /** Allowed difference between our clock and Luma's when matching `created_at` of a lost create. */
  clockSkewMs: number;
  /** Pages of 100 a reconciliation may read before it gives up for this attempt (default 20). */
  maxListPages?: number;
  /**
   * The URL Luma is handed for a keyframe: history keeps the asset's canonical URL, and this mints the signed,
   * expiring one at the moment of the create (workers sign it for `PROVIDER_URL_TTL_SECONDS` of assets/).
   */
  providerUrl: (url: string) => Promise<string>;
}

/** The fields of a create request that identify it when Luma echoes it back. */
interface CreateBody {
  prompt: string;
  model: string;
  keyframes?: unknown;
  callback_url: string;
}

/** Time kept in hand at the end of an attempt, so it is over before Temporal starts its successor. */
const ATTEMPT_SAFETY_MS = 2000;
const PAGE_SIZE = 100;
/** Consecutive failed status reads a polling window tolerates before it fails and lets Temporal back off. */
const MAX_POLL_FAILURES = 5;

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
export function keyOfGeneration(g: Generation): string | undefined {
  const url = (g.request as { callback_url?: unknown } | undefined)?.callback_url;
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).searchParams.get('key') ?? undefined;
  } catch {
    return undefined;
  }
}

/** Oldest first; equal timestamps fall back to the id, so every twin keeps the same one. */
function byAge(a: Generation, b: Generation): number {
  return Date.parse(a.created_at ?? '') - Date.parse(b.created_at ?? '') || String(a.id).localeCompare(String(b.id));
}

/** Builds the Luma activities. */
export function createLumaActivities(deps: LumaDeps) {
  const maxPages = deps.maxListPages ?? 20;
  const callbackUrl = (key: string) =>
    `${deps.callbackBaseUrl.replace(/\/+$/, '')}/v1/luma/callback?key=${encodeURIComponent(key)}`;
  const readOptions = (signal: AbortSignal) => ({
    timeout: deps.listTimeoutMs,
    maxRetries: 0,
    signal: oneShot(signal),
  });

  /**
   * Every generation created since `since` that `match` accepts, newest first. Reads pages until it passes `since`;
   * throws (retryably) when it cannot get that far, since an incomplete look could lead to paying twice.
   */
  async function scan(match: (g: Generation) => boolean, since: number, signal: AbortSignal): Promise<Generation[]> {
    const found: Generation[] = [];
    for (let page = 0; page < maxPages; page++) {
      const res = await deps.luma.generations.list({ limit: PAGE_SIZE, offset: page * PAGE_SIZE }, readOptions(signal));
      for (const g of res.generations) {
        const created = g.created_at ? Date.parse(g.created_at) : Number.POSITIVE_INFINITY;
        if (created >= since && match(g)) found.push(g);
      }
      const oldest = res.generations.at(-1)?.created_at;
      if (!res.has_more || res.generations.length === 0 || (oldest && Date.parse(oldest) < since)) return found;
    }
    throw new Error(`could not look back to ${new Date(since).toISOString()} within ${maxPages} pages of generations`);
  }

  /** Keeps the oldest of a key's generations and deletes the rest (each of which was billed). */
  async function keepOne(generations: Generation[], ownId: string | undefined, signal: AbortSignal) {
    const [keep, ...extra] = [...generations].sort(byAge);
    for (const g of extra) {
      await deps.luma.generations.delete(g.id!, readOptions(signal)).catch((err) => {
        if (!(err instanceof LumaAI.NotFoundError)) log.warn('duplicate not deleted', { id: g.id, error: String(err) });
      });
    }
    if (extra.length)
      log.warn('duplicate generations of one key deleted', { kept: keep.id, deleted: extra.map((g) => g.id) });
    return { generationId: keep.id!, reused: keep.id !== ownId, duplicates: extra.map((g) => g.id!) };
  }

  async function submit<B extends CreateBody>(
    body: B,
    input: { key: string; sinceMs: number; reconcile?: boolean },
    create: (body: B, options: { maxRetries: 0; timeout: number; signal: AbortSignal }) => Promise<Generation>
  ): Promise<SubmittedGeneration> {
    const ctx = Context.current();
    const deadline = Date.now() + ctx.info.startToCloseTimeoutMs - ATTEMPT_SAFETY_MS;
    // Our own deadline too: an attempt whose time is up stops its HTTP calls instead of racing its successor.
    const signal = AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
    const since = Math.min(input.sinceMs, ctx.info.scheduledTimestampMs) - deps.clockSkewMs;
    const match = (g: Generation) => {
      const key = keyOfGeneration(g);
      return key !== undefined ? key === input.key : isSameRequest(g.request as Record<string, unknown>, body);
    };
    let phase = 'reconciling';
    return whileHeartbeating(
      async () => {
        try {
          if (ctx.info.attempt > 1 || input.reconcile) {
            // An earlier attempt may have reached Luma before its response was lost: find it instead of paying twice.
            const earlier = await scan(match, since, signal);
            if (earlier.length > 0) {
              const kept = await keepOne(earlier, undefined, signal);
              log.info('reusing generation created by an earlier attempt', { key: input.key, ...kept });
              return kept;
            }
          }
          if (Date.now() + deps.createTimeoutMs > deadline) {
            throw new Error('not enough time left in this attempt to finish a create; the next attempt looks first');
          }
          phase = 'creating';
          const created = await create(body, { maxRetries: 0, timeout: deps.createTimeoutMs, signal: oneShot(signal) });
          if (!created.id) throw new Error('Luma answered a create without a generation id');
          log.info('generation submitted', { key: input.key, generationId: created.id });
          // A twin attempt (timed out, but its create still on the wire) may have created one too: look once more.
          phase = 'checking for twins';
          let siblings: Generation[];
          try {
            siblings = await scan(match, since, signal);
          } catch (err) {
            log.warn('second look failed; keeping the new generation', { key: input.key, error: String(err) });
            return { generationId: created.id, reused: false, duplicates: [] };
          }
          const all = [created, ...siblings.filter((g) => g.id !== created.id)];
          return all.length === 1
            ? { generationId: created.id, reused: false, duplicates: [] }
            : await keepOne(all, created.id, signal);
        } catch (err) {
          throw classifyLumaError(err, ctx.cancellationSignal);
        }
      },
      () => ({ phase })
    );
  }

  return {
    /** Submits one keyframe image generation, exactly once per key. */
    async submitImageGeneration(input: ImageGenerationInput): Promise<SubmittedGeneration> {
      const body = {
        prompt: input.prompt,
        model: input.model,
        aspect_ratio: input.aspectRatio,
        callback_url: callbackUrl(input.key),
      };
      return submit(body, input, (b, options) => deps.luma.generations.image.create(b, options));
    },

    /** Submits one clip generation with START (and END) frame conditioning, exactly once per key. */
    async submitVideoGeneration(input: VideoGenerationInput): Promise<SubmittedGeneration> {
      const keyframes: { frame0: { type: 'image'; url: string }; frame1?: { type: 'image'; url: string } } = {
        frame0: { type: 'image', url: await deps.providerUrl(input.frame0Url) },
      };
      if (input.frame1Url) keyframes.frame1 = { type: 'image', url: await deps.providerUrl(input.frame1Url) };
      const body = {
        prompt: input.prompt,
        // The SDK's type lists only the older models; the API accepts the newer ones.
        model: input.model as 'ray-2',
        aspect_ratio: input.aspectRatio,
        resolution: input.resolution,
        duration: `${input.durationSeconds}s`,
        keyframes,
        callback_url: callbackUrl(input.key),
      };
      return submit(body, input, (b, options) => deps.luma.generations.video.create(b, options));
    },

    /**
     * Polls a generation for at most `windowMs`, heartbeating from the first moment; answers the state it ended the
     * window in. The workflow loops windows (a long queue never outlives any one activity timeout).
     */
    async pollGeneration(input: PollInput): Promise<PollResult> {
      const ctx = Context.current();
      const until = Date.now() + input.windowMs;
      ctx.heartbeat({ state: 'polling' });
      let last: Generation | undefined;
      let failures = 0;
      for (;;) {
        try {
          last = await deps.luma.generations.get(input.generationId, readOptions(ctx.cancellationSignal));
          failures = 0;
        } catch (err) {
          if (err instanceof LumaAI.NotFoundError) {
            return { generationId: input.generationId, state: 'missing', failureReason: 'Luma no longer knows it' };
          }
          const classified = classifyLumaError(err, ctx.cancellationSignal);
          if (++failures >= MAX_POLL_FAILURES || classified !== err) throw classified;
          log.warn('reading a generation failed; trying again', {
            generationId: input.generationId,
            error: String(err),
          });
        }
        ctx.heartbeat({ state: last?.state ?? 'unknown' });
        if (last?.state === 'completed') {
          const assetUrl = last.assets?.video ?? last.assets?.image ?? undefined;
          if (!assetUrl) throw new Error(`generation ${input.generationId} completed without an asset URL`);
          return { generationId: input.generationId, state: 'completed', assetUrl };
        }
        if (last?.state === 'failed') {
          return {
            generationId: input.generationId,
            state: 'failed',
            failureReason: last.failure_reason ?? 'unknown failure',
          };
        }
        if (Date.now() + deps.pollIntervalMs >= until) {
          return { generationId: input.generationId, state: last?.state === 'dreaming' ? 'dreaming' : 'queued' };
        }
        await ctx.sleep(deps.pollIntervalMs);
      }
    },

    /** Deletes a generation at Luma (a cancelled story, a timed-out clip); an unknown id counts as deleted. */
    async deleteGeneration(input: { generationId: string }): Promise<void> {
      const ctx = Context.current();
      try {
        await deps.luma.generations.delete(input.generationId, readOptions(ctx.cancellationSignal));
      } catch (err) {
        if (err instanceof LumaAI.NotFoundError) return;
        throw classifyLumaError(err, ctx.cancellationSignal);
      }
    },

    /**
     * Finds every generation whose key is `keyPrefix` or below it (created since `sinceMs`), stops the ones still in
     * flight, and says how each ended: what a cancelled or broken story paid for, including creates whose response
     * never arrived.
     */
    async sweepGenerations(input: SweepInput): Promise<SweptGeneration[]> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      return whileHeartbeating(async () => {
        try {
          const found = await scan(
            (g) => underPrefix(keyOfGeneration(g), input.keyPrefix),
            input.sinceMs - deps.clockSkewMs,
            signal
          );
          const swept: SweptGeneration[] = [];
          for (const g of found) {
            let state: SweptGeneration['state'] = g.state === 'failed' ? 'failed' : 'completed';
            if (g.state === 'queued' || g.state === 'dreaming') {
              await deps.luma.generations.delete(g.id!, readOptions(signal)).catch((err) => {
                if (!(err instanceof LumaAI.NotFoundError)) throw err;
              });
              state = 'deleted';
            }
            swept.push({ generationId: g.id!, key: keyOfGeneration(g)!, state, price: priceOf(g) });
          }
          return swept;
        } catch (err) {
          throw classifyLumaError(err, signal);
        }
      });
    },
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

/** Whether a key is the prefix itself or lies below it (`a/b` is under `a`, `a/bc` is not under `a/b`). */
function underPrefix(key: string | undefined, prefix: string): boolean {
  return key !== undefined && (key === prefix || key.startsWith(`${prefix}/`));
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
