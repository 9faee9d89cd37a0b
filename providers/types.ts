import type { GenerationPriceInput, ImageGenerationInput, VideoGenerationInput } from '../common/generations';
import type { ProviderId } from '../common/models';

// The one interface every provider implements: what the generation activities (activities/generations.ts) need to
// create, follow, stop and find again a paid generation. Nothing outside providers/ names a provider's SDK type;
// the paid-once rules (reconciliation, deadline, second look, sweeps) live once, in the activities, for all of them.

/** A generation as a provider reports it, in reelflow's words. */
export interface ProviderGeneration {
  id: string;
  /** The reelflow model that made it (the provider's model name mapped back), where the provider says. */
  model?: string;
  /** The idempotency key its create carried, read back from the provider's echo; undefined when it carried none. */
  key?: string;
  state: 'queued' | 'dreaming' | 'completed' | 'failed';
  failureReason?: string;
  /** The image or video URL at the provider, once completed. */
  assetUrl?: string;
  /** When the provider accepted it (epoch ms, the provider's clock). */
  createdAtMs: number;
  /** What it was asked for, as far as its price goes. */
  price: GenerationPriceInput;
  /** The provider's echo of the create request, for matching a create that carried no key. */
  echo?: unknown;
}

/** A create built and ready to send: opaque to the activities except for its key and model. */
export interface PreparedCreate {
  key: string;
  model: string;
  kind: 'image' | 'video';
  /** The request body as the provider's SDK takes it. */
  body: unknown;
}

/** Where a generation is: its id and, for providers whose paths name it, its model. */
export interface GenerationLocator {
  id: string;
  model?: string;
}

/** What stopping a generation found: stopped in flight, already over, or unknown to the provider. */
export type StopOutcome = 'stopped' | 'ended' | 'missing';

/** Timings of one provider's calls, from settings. */
export interface ProviderTimings {
  pollIntervalMs: number;
  /** Time limit of one create request; an attempt only creates when this much of its own time is left. */
  createTimeoutMs: number;
  /** Time limit of one list, status or stop request. */
  listTimeoutMs: number;
}

/**
 * One provider account. Every call makes exactly one HTTP exchange per request it documents (never SDK retries: the
 * activity owns retries, so a create is never sent twice by a library) and follows `signal`.
 */
export interface VideoProvider {
  readonly id: ProviderId;
  readonly timings: ProviderTimings;
  /** Builds a keyframe image create (providers that make images only). */
  prepareImage?(input: ImageGenerationInput): Promise<PreparedCreate>;
  /** Builds a clip create from START (and END) frames; `providerUrl` signs the frame URLs the provider fetches. */
  prepareVideo(input: VideoGenerationInput, providerUrl: (url: string) => Promise<string>): Promise<PreparedCreate>;
  /** Sends one create, within `createTimeoutMs`. */
  create(prepared: PreparedCreate, signal: AbortSignal): Promise<ProviderGeneration>;
  /** Whether a listed generation is the one `prepared` would create (its key, or its echoed request). */
  isSameCreate(generation: ProviderGeneration, prepared: PreparedCreate): boolean;
  /** The generation's state now; `missing` when the provider no longer knows it. */
  get(locator: GenerationLocator, signal: AbortSignal): Promise<ProviderGeneration | 'missing'>;
  /** Stops (deletes or cancels) a generation. */
  stop(locator: GenerationLocator, signal: AbortSignal): Promise<StopOutcome>;
  /**
   * Every generation accepted since `sinceMs` (of `models`, where the provider lists per model), reading pages
   * until it has looked that far back; throws (retryably) when it cannot, since an incomplete look could lead to
   * paying twice. `maxPages` caps the pages one call may read.
   */
  list(
    query: { sinceMs: number; models?: string[]; maxPages: number },
    signal: AbortSignal
  ): Promise<ProviderGeneration[]>;
  /**
   * Turns an error of this provider's SDK into a failure Temporal retries (or not): the same error when it is
   * transient, a typed non-retryable or rate-limit failure otherwise. A cancellation surfaces as the cancellation.
   */
  classify(err: unknown, cancellation?: AbortSignal): Error;
}

/** The providers a deployment has keys for. */
export type ProviderRegistry = Partial<Record<ProviderId, VideoProvider>>;
