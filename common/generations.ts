import type { AspectRatio, ImageModel, ProviderId, Resolution, VideoModel } from './models';

// Inputs and outputs of the generation activities (every provider's), shared by the workflows that schedule them and the activities
// that run them.

/** What every paid create carries: its idempotency key and how far back an earlier create may be found. */
interface CreateCommon {
  /**
   * Idempotency key of this paid attempt; it rides in a field the provider echoes back when it lists what it made
   * (Luma: the callback URL; fal: the START image URL's fragment).
   */
  key: string;
  /** Epoch ms before which no earlier create of this key can exist (reconciliation looks back to here). */
  sinceMs: number;
  /** Look for an earlier create even on the activity's first attempt (a reset or continued workflow run). */
  reconcile?: boolean;
}

/** Input of an image (keyframe) generation. */
export interface ImageGenerationInput extends CreateCommon {
  prompt: string;
  model: ImageModel;
  aspectRatio: AspectRatio;
}

/** Input of a clip generation conditioned on a START and (optionally) an END frame. */
export interface VideoGenerationInput extends CreateCommon {
  prompt: string;
  model: VideoModel;
  aspectRatio: AspectRatio;
  resolution: Resolution;
  durationSeconds: number;
  frame0Url: string;
  frame1Url?: string;
}

/** A generation submitted once for its key. */
export interface SubmittedGeneration {
  generationId: string;
  /** True when an earlier attempt's create had reached the provider and was found again instead of paying twice. */
  reused: boolean;
  /** Generations of the same key found after the create and deleted (each billed, unless listed as unbilled). */
  duplicates: string[];
  /** Those of `duplicates` the provider will not charge (failed, or stopped before a provider that bills results). */
  unbilledDuplicates?: string[];
}

/** A generation at its provider: its id, and the model that made it (the provider follows; none = Luma). */
export interface GenerationRef {
  generationId: string;
  /** reelflow's name of the model (recorded histories have none: Luma). */
  model?: string;
}

/** Input of one polling window. */
export interface PollInput extends GenerationRef {
  /** How long this activity may wait before answering with the state so far. */
  windowMs: number;
}

/** The state of a generation when a polling window ended. */
export interface PollResult {
  generationId: string;
  /** `missing`: the provider no longer knows it (deleted elsewhere). */
  state: 'queued' | 'dreaming' | 'completed' | 'failed' | 'missing';
  failureReason?: string;
  /** The image or video URL at the provider, once completed. */
  assetUrl?: string;
}

/** What a generation is priced by. */
export interface GenerationPriceInput {
  kind: 'image' | 'video';
  model: string;
  durationSeconds?: number;
  resolution?: string;
  frame0?: boolean;
  frame1?: boolean;
}

/** Input of a sweep: every generation whose key is `keyPrefix` or below it (`<prefix>/…`); in-flight ones are stopped. */
export interface SweepInput {
  keyPrefix: string;
  sinceMs: number;
  /** Where to look: providers and, optionally, which of their models (default: every provider of the deployment). */
  targets?: Array<{ provider: ProviderId; models?: string[] }>;
}

/** One generation a sweep found, and how it ended up. */
export interface SweptGeneration {
  generationId: string;
  key: string;
  /** Where it was found (recorded histories have none: Luma). */
  provider?: ProviderId;
  /** `deleted`: it was still in flight and was stopped (still paid where the provider bills on create: Luma). */
  state: 'completed' | 'failed' | 'deleted';
  price: GenerationPriceInput;
}
