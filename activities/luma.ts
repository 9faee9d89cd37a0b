import { Context, log } from '@temporalio/activity';
import LumaAI from 'lumaai';
import type { Generation } from 'lumaai/resources/generations/generations';
import type { AspectRatio, ImageModel, Resolution, VideoModel } from '../common/story';
import { FailureType, nonRetryable, retryAfter } from './errors';

/** What the Luma activities need. */
export interface LumaDeps {
  luma: LumaAI;
  /** Base of the callback URLs (our HTTP server); the key of each generation rides in it. */
  callbackBaseUrl: string;
  pollIntervalMs: number;
  /** Time limit of one create request; shorter than the submit activity's timeout so no twin create outlives it. */
  createTimeoutMs: number;
  /** Allowed difference between our clock and Luma's when matching `created_at` of a lost create. */
  clockSkewMs: number;
}

/** A generation submitted (or found again after a lost response). */
export interface SubmittedGeneration {
  generationId: string;
  /** True when an earlier attempt's create had reached Luma and was found again instead of paying twice. */
  reused: boolean;
}

/** Input of an image (keyframe) generation. */
export interface ImageGenerationInput {
  key: string;
  prompt: string;
  model: ImageModel;
  aspectRatio: AspectRatio;
}

/** Input of a clip generation conditioned on a start and (optionally) an end frame. */
export interface VideoGenerationInput {
  key: string;
  prompt: string;
  model: VideoModel;
  aspectRatio: AspectRatio;
  resolution: Resolution;
  durationSeconds: number;
  frame0Url: string;
  frame1Url?: string;
}

/** How a generation ended. */
export interface FinishedGeneration {
  generationId: string;
  state: 'completed' | 'failed';
  failureReason?: string;
  /** The image or video URL at the provider. */
  assetUrl?: string;
}

/** The fields of a create request that identify it when Luma echoes it back. */
interface CreateBody {
  prompt: string;
  model: string;
  keyframes?: unknown;
  callback_url: string;
}

/** Whether an echoed request is the one we sent. */
export function isSameRequest(echo: Record<string, unknown> | undefined, sent: CreateBody): boolean {
  if (!echo) return false;
  // The callback URL carries this attempt's key, so where Luma echoes it, it alone identifies the request.
  if (typeof echo.callback_url === 'string') return echo.callback_url === sent.callback_url;
  return (
    echo.prompt === sent.prompt &&
    echo.model === sent.model &&
    JSON.stringify(echo.keyframes ?? null) === JSON.stringify(sent.keyframes ?? null)
  );
}

/** Builds the Luma activities. */
export function createLumaActivities(deps: LumaDeps) {
  const callbackUrl = (key: string) =>
    `${deps.callbackBaseUrl.replace(/\/+$/, '')}/v1/luma/callback?key=${encodeURIComponent(key)}`;

  /**
   * Finds a generation an earlier attempt of this activity created (its response lost): one whose echoed request is
   * this one, created after the activity was first scheduled.
   */
  async function findExisting(sent: CreateBody, since: number): Promise<Generation | undefined> {
    const pageSize = 100;
    for (let offset = 0; offset < 1000; offset += pageSize) {
      const page = await deps.luma.generations.list({ limit: pageSize, offset });
      for (const g of page.generations) {
        const recent = !g.created_at || Date.parse(g.created_at) >= since;
        if (recent && isSameRequest(g.request as Record<string, unknown> | undefined, sent)) return g;
      }
      const oldest = page.generations.at(-1)?.created_at;
      if (!page.has_more || page.generations.length === 0 || (oldest && Date.parse(oldest) < since)) return undefined;
    }
    return undefined;
  }

  async function submit<B extends CreateBody>(
    body: B,
    create: (body: B) => Promise<Generation>
  ): Promise<SubmittedGeneration> {
    const ctx = Context.current();
    const key = new URL(body.callback_url).searchParams.get('key');
    if (ctx.info.attempt > 1) {
      // An earlier attempt may have reached Luma before its response was lost: find it instead of paying twice.
      const existing = await findExisting(body, ctx.info.scheduledTimestampMs - deps.clockSkewMs);
      if (existing?.id) {
        log.info('reusing generation created by an earlier attempt', { key, generationId: existing.id });
        return { generationId: existing.id, reused: true };
      }
    }
    try {
      const generation = await create(body);
      if (!generation.id) throw new Error('Luma answered a create without a generation id');
      log.info('generation submitted', { key, generationId: generation.id });
      return { generationId: generation.id, reused: false };
    } catch (err) {
      throw classifyLumaError(err);
    }
  }

  // The SDK would retry a timed-out create by itself and bill again; this activity's retries own idempotency instead.
  const createOptions = () => ({ maxRetries: 0, timeout: deps.createTimeoutMs });

  return {
    /** Submits one keyframe image generation, exactly once per key. */
    async submitImageGeneration(input: ImageGenerationInput): Promise<SubmittedGeneration> {
      const body = {
        prompt: input.prompt,
        model: input.model,
        aspect_ratio: input.aspectRatio,
        callback_url: callbackUrl(input.key),
      };
      return submit(body, (b) => deps.luma.generations.image.create(b, createOptions()));
    },

    /** Submits one clip generation with START (and END) frame conditioning, exactly once per key. */
    async submitVideoGeneration(input: VideoGenerationInput): Promise<SubmittedGeneration> {
      const keyframes: { frame0: { type: 'image'; url: string }; frame1?: { type: 'image'; url: string } } = {
        frame0: { type: 'image', url: input.frame0Url },
      };
      if (input.frame1Url) keyframes.frame1 = { type: 'image', url: input.frame1Url };
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
      return submit(body, (b) => deps.luma.generations.video.create(b, createOptions()));
    },

    /** Polls a generation until it completes or fails, heartbeating so a crashed worker's attempt is retried soon. */
    async awaitGeneration(input: { generationId: string }): Promise<FinishedGeneration> {
      const ctx = Context.current();
      for (;;) {
        let generation: Generation;
        try {
          generation = await deps.luma.generations.get(input.generationId);
        } catch (err) {
          throw classifyLumaError(err);
        }
        ctx.heartbeat({ state: generation.state });
        if (generation.state === 'completed') {
          const assetUrl = generation.assets?.video ?? generation.assets?.image ?? undefined;
          if (!assetUrl) throw new Error(`generation ${input.generationId} completed without an asset URL`);
          return { generationId: input.generationId, state: 'completed', assetUrl };
        }
        if (generation.state === 'failed') {
          return {
            generationId: input.generationId,
            state: 'failed',
            failureReason: generation.failure_reason ?? 'unknown failure',
          };
        }
        await ctx.sleep(deps.pollIntervalMs);
      }
    },

    /** Deletes a generation at Luma (used when a story is cancelled); an unknown id counts as deleted. */
    async deleteGeneration(input: { generationId: string }): Promise<void> {
      try {
        await deps.luma.generations.delete(input.generationId);
      } catch (err) {
        if (err instanceof LumaAI.NotFoundError) return;
        throw classifyLumaError(err);
      }
    },
  };
}

/** Turns an SDK error into a failure Temporal knows how to retry (or not). */
export function classifyLumaError(err: unknown): Error {
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
  // Connection errors, timeouts and 5xx are transient; the next attempt reconciles before creating again.
  return err instanceof Error ? err : new Error(String(err));
}

function detailOf(err: InstanceType<typeof LumaAI.APIError>): string {
  const body = err.error as { detail?: unknown } | undefined;
  if (body && typeof body.detail === 'string') return body.detail;
  if (body && body.detail !== undefined) return JSON.stringify(body.detail);
  return err.message;
}
