import { Context, log } from '@temporalio/activity';
import { FailureType, nonRetryable } from '../common/failures';
import type {
  GenerationRef,
  ImageGenerationInput,
  PollInput,
  PollResult,
  SubmittedGeneration,
  SweepInput,
  SweptGeneration,
  VideoGenerationInput,
} from '../common/generations';
import { billsStopped, IMAGE_PROVIDER, PROVIDER_IDS, providerOf, type ProviderId } from '../common/models';
import type { PreparedCreate, ProviderGeneration, ProviderRegistry, VideoProvider } from '../providers/types';
import { whileHeartbeating } from './heartbeat';

// The paid generation activities of every provider: one create per idempotency key (reconciliation, the attempt's
// own deadline, the second look for twins), bounded polling windows, stops and sweeps. The provider (providers/)
// only speaks its API; every rule about money lives here, once.

/** What the generation activities need. */
export interface GenerationDeps {
  /** The providers this deployment has keys for. */
  providers: ProviderRegistry;
  /** Allowed difference between our clock and a provider's when matching the creation time of a lost create. */
  clockSkewMs: number;
  /** Pages a reconciliation may read before it gives up for this attempt (default 20). */
  maxListPages?: number;
  /**
   * The URL a provider is handed for a keyframe: history keeps the asset's canonical URL, and this mints the
   * signed, expiring one at the moment of the create (workers sign it for `PROVIDER_URL_TTL_SECONDS` of assets/).
   */
  providerUrl: (url: string) => Promise<string>;
}

/** Time kept in hand at the end of an attempt, so it is over before Temporal starts its successor. */
const ATTEMPT_SAFETY_MS = 2000;
/** Consecutive failed status reads a polling window tolerates before it fails and lets Temporal back off. */
const MAX_POLL_FAILURES = 5;

/** Oldest first; equal timestamps fall back to the id, so every twin keeps the same one. */
function byAge(a: ProviderGeneration, b: ProviderGeneration): number {
  return a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id);
}

/** Builds the generation activities over the deployment's providers. */
export function createGenerationActivities(deps: GenerationDeps) {
  const maxPages = deps.maxListPages ?? 20;

  /** The provider of `id`, or a clear non-retryable failure when this deployment has no key for it. */
  function providerNamed(id: ProviderId): VideoProvider {
    const provider = deps.providers[id];
    if (!provider) {
      throw nonRetryable(
        FailureType.ProviderAuth,
        `provider ${id} is not configured on this worker (no API key; see docs/providers.md for its settings)`
      );
    }
    return provider;
  }

  /** Keeps the oldest of a key's generations and stops the rest (each billed unless the provider says otherwise). */
  async function keepOne(
    provider: VideoProvider,
    generations: ProviderGeneration[],
    ownId: string | undefined,
    signal: AbortSignal
  ): Promise<SubmittedGeneration> {
    const [keep, ...extra] = [...generations].sort(byAge);
    const unbilled: string[] = [];
    for (const g of extra) {
      const outcome = await provider.stop({ id: g.id, model: g.model }, signal).catch((err: unknown) => {
        log.warn('duplicate not stopped', { id: g.id, error: String(err) });
        return 'ended' as const;
      });
      // A failed twin is refunded; one stopped in flight costs nothing where the provider bills results only.
      if (g.state === 'failed' || (outcome === 'stopped' && !billsStopped(provider.id) && g.state !== 'completed')) {
        unbilled.push(g.id);
      }
    }
    if (extra.length)
      log.warn('duplicate generations of one key stopped', { kept: keep.id, deleted: extra.map((g) => g.id) });
    return {
      generationId: keep.id,
      reused: keep.id !== ownId,
      duplicates: extra.map((g) => g.id),
      ...(unbilled.length && { unbilledDuplicates: unbilled }),
    };
  }

  async function submit(
    provider: VideoProvider,
    input: { key: string; sinceMs: number; reconcile?: boolean; model: string },
    prepare: () => Promise<PreparedCreate>
  ): Promise<SubmittedGeneration> {
    const ctx = Context.current();
    const deadline = Date.now() + ctx.info.startToCloseTimeoutMs - ATTEMPT_SAFETY_MS;
    // Our own deadline too: an attempt whose time is up stops its HTTP calls instead of racing its successor.
    const signal = AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
    const since = Math.min(input.sinceMs, ctx.info.scheduledTimestampMs) - deps.clockSkewMs;
    let phase = 'reconciling';
    return whileHeartbeating(
      async () => {
        try {
          const prepared = await prepare();
          const scan = async () =>
            (await provider.list({ sinceMs: since, models: [input.model], maxPages }, signal)).filter((g) =>
              provider.isSameCreate(g, prepared)
            );
          if (ctx.info.attempt > 1 || input.reconcile) {
            // An earlier attempt may have reached the provider before its answer was lost: find it, never pay twice.
            const earlier = await scan();
            if (earlier.length > 0) {
              const kept = await keepOne(provider, earlier, undefined, signal);
              log.info('reusing generation created by an earlier attempt', { key: input.key, ...kept });
              return kept;
            }
          }
          if (Date.now() + provider.timings.createTimeoutMs > deadline) {
            throw new Error('not enough time left in this attempt to finish a create; the next attempt looks first');
          }
          phase = 'creating';
          const created = await provider.create(prepared, signal);
          log.info('generation submitted', { key: input.key, provider: provider.id, generationId: created.id });
          // A twin attempt (timed out, but its create still on the wire) may have created one too: look once more.
          phase = 'checking for twins';
          let siblings: ProviderGeneration[];
          try {
            siblings = await scan();
          } catch (err) {
            log.warn('second look failed; keeping the new generation', { key: input.key, error: String(err) });
            return { generationId: created.id, reused: false, duplicates: [] };
          }
          const all = [created, ...siblings.filter((g) => g.id !== created.id)];
          return all.length === 1
            ? { generationId: created.id, reused: false, duplicates: [] }
            : await keepOne(provider, all, created.id, signal);
        } catch (err) {
          throw provider.classify(err, ctx.cancellationSignal);
        }
      },
      () => ({ phase })
    );
  }

  return {
    /** Submits one keyframe image generation, exactly once per key. */
    async submitImageGeneration(input: ImageGenerationInput): Promise<SubmittedGeneration> {
      const provider = providerNamed(IMAGE_PROVIDER);
      if (!provider.prepareImage) throw nonRetryable(FailureType.BadInput, `${provider.id} makes no images`);
      return submit(provider, input, () => provider.prepareImage!(input));
    },

    /** Submits one clip generation with START (and END) frame conditioning, exactly once per key. */
    async submitVideoGeneration(input: VideoGenerationInput): Promise<SubmittedGeneration> {
      const provider = providerNamed(providerOf(input.model));
      return submit(provider, input, () => provider.prepareVideo(input, deps.providerUrl));
    },

    /**
     * Polls a generation for at most `windowMs`, heartbeating from the first moment; answers the state it ended the
     * window in. The workflow loops windows (a long queue never outlives any one activity timeout).
     */
    async pollGeneration(input: PollInput): Promise<PollResult> {
      const ctx = Context.current();
      const provider = providerNamed(providerOf(input.model));
      const until = Date.now() + input.windowMs;
      const locator = { id: input.generationId, model: input.model };
      ctx.heartbeat({ state: 'polling' });
      let last: ProviderGeneration | undefined;
      let failures = 0;
      for (;;) {
        try {
          const got = await provider.get(locator, ctx.cancellationSignal);
          if (got === 'missing') {
            return {
              generationId: input.generationId,
              state: 'missing',
              failureReason: `${provider.id} no longer knows it`,
            };
          }
          last = got;
          failures = 0;
        } catch (err) {
          const classified = provider.classify(err, ctx.cancellationSignal);
          if (++failures >= MAX_POLL_FAILURES || classified !== err) throw classified;
          log.warn('reading a generation failed; trying again', {
            generationId: input.generationId,
            error: String(err),
          });
        }
        ctx.heartbeat({ state: last?.state ?? 'unknown' });
        if (last?.state === 'completed') {
          if (!last.assetUrl) throw new Error(`generation ${input.generationId} completed without an asset URL`);
          return { generationId: input.generationId, state: 'completed', assetUrl: last.assetUrl };
        }
        if (last?.state === 'failed') {
          return {
            generationId: input.generationId,
            state: 'failed',
            failureReason: last.failureReason ?? 'unknown failure',
          };
        }
        if (Date.now() + provider.timings.pollIntervalMs >= until) {
          return { generationId: input.generationId, state: last?.state === 'dreaming' ? 'dreaming' : 'queued' };
        }
        await ctx.sleep(provider.timings.pollIntervalMs);
      }
    },

    /** Stops a generation at its provider (a cancelled story, a timed-out clip); an unknown id counts as stopped. */
    async deleteGeneration(input: GenerationRef): Promise<void> {
      const ctx = Context.current();
      const provider = providerNamed(providerOf(input.model));
      try {
        await provider.stop({ id: input.generationId, model: input.model }, ctx.cancellationSignal);
      } catch (err) {
        throw provider.classify(err, ctx.cancellationSignal);
      }
    },

    /**
     * Finds every generation whose key is `keyPrefix` or below it (created since `sinceMs`) at each target provider,
     * stops the ones still in flight, and says how each ended: what a cancelled or broken story paid for, including
     * creates whose response never arrived.
     */
    async sweepGenerations(input: SweepInput): Promise<SweptGeneration[]> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const targets =
        input.targets ??
        PROVIDER_IDS.filter((id) => deps.providers[id]).map((provider) => ({ provider, models: undefined }));
      return whileHeartbeating(async () => {
        const swept: SweptGeneration[] = [];
        for (const target of targets) {
          const provider = deps.providers[target.provider];
          if (!provider) {
            log.warn('sweep skipped a provider this worker has no key for', { provider: target.provider });
            continue;
          }
          try {
            const found = (
              await provider.list(
                { sinceMs: input.sinceMs - deps.clockSkewMs, models: target.models, maxPages },
                signal
              )
            ).filter((g) => underPrefix(g.key, input.keyPrefix));
            for (const g of found) {
              let state: SweptGeneration['state'] = g.state === 'failed' ? 'failed' : 'completed';
              if (g.state === 'queued' || g.state === 'dreaming') {
                await provider.stop({ id: g.id, model: g.model }, signal);
                state = 'deleted';
              }
              swept.push({ generationId: g.id, key: g.key!, provider: provider.id, state, price: g.price });
            }
          } catch (err) {
            throw provider.classify(err, signal);
          }
        }
        return swept;
      });
    },
  };
}

/** Whether a key is the prefix itself or lies below it (`a/b` is under `a`, `a/bc` is not under `a/b`). */
function underPrefix(key: string | undefined, prefix: string): boolean {
  return key !== undefined && (key === prefix || key.startsWith(`${prefix}/`));
}
