import type { AspectRatio, ImageModel, Resolution } from '../common/models';

/** States a Luma generation moves through. */
export type GenerationState = 'queued' | 'dreaming' | 'completed' | 'failed';

/** A keyframe as the API accepts it. */
export type KeyframeRef = { type: 'image'; url: string } | { type: 'generation'; id: string };

/** A validated video request: the fields the emulator acts on, with defaults filled in. */
export interface VideoSpec {
  kind: 'video';
  prompt: string;
  /** The provider's model name (a Luma model, or a fal endpoint id for the fal face). */
  model: string;
  aspectRatio: AspectRatio;
  durationSeconds: number;
  resolution: Resolution;
  /** `start-frame`: the clip takes the START frame's own size (models that take no size, e.g. Kling on fal). */
  size?: 'start-frame';
  loop: boolean;
  frame0?: KeyframeRef;
  frame1?: KeyframeRef;
  callbackUrl?: string;
}

/** A validated image request. */
export interface ImageSpec {
  kind: 'image';
  prompt: string;
  model: ImageModel;
  aspectRatio: AspectRatio;
  format: 'jpg' | 'png';
  callbackUrl?: string;
}

/** What a create asked for, validated. */
export type GenerationSpec = VideoSpec | ImageSpec;

/** Asset URLs of a completed generation, as Luma returns them. */
export interface GenerationAssets {
  video?: string;
  image?: string;
  progress_video?: string;
}

/** Files of a finished generation: names in its directory, by asset. */
export interface RenderedMedia {
  video?: string;
  image: string;
}

/** A generation as the emulator keeps it. */
export interface GenerationRecord {
  id: string;
  apiKey: string;
  /** Insertion order, so generations created in the same millisecond still list newest first. */
  seq: number;
  spec: GenerationSpec;
  /** The create body exactly as received, echoed back in `request`. */
  request: unknown;
  state: GenerationState;
  failureReason: string | null;
  createdAt: Date;
  assets: GenerationAssets | null;
  costCents: number;
  refunded: boolean;
  /** When it was deleted through the API; a deleted generation is gone for the API but stays in the ledger. */
  deletedAt: Date | null;
  /** When it left the queued/dreaming states (stopped counting against the in-flight cap); null while in flight. */
  landedAt?: Date | null;
  /** Planned at create time: render a clip that is not what was asked (the `badClipNext` fault). */
  badClip?: boolean;
  /** Directory of this generation's files. */
  dir: string;
  /** File names (in `dir`) of the finished media; null until completed. */
  media: RenderedMedia | null;
  /** Deterministic picture seed (prompt, model and the prompt's variation count). */
  seed: number;
}

/** The generation object as the API returns it. */
export interface GenerationJson {
  id: string;
  generation_type: 'video' | 'image';
  state: GenerationState;
  failure_reason: string | null;
  created_at: string;
  model: string;
  request: unknown;
  assets: GenerationAssets | null;
}

/** Serialises a generation the way Luma does; assets stay null until the generation completes. */
export function generationJson(record: GenerationRecord): GenerationJson {
  return {
    id: record.id,
    generation_type: record.spec.kind,
    state: record.state,
    failure_reason: record.failureReason,
    created_at: record.createdAt.toISOString(),
    model: record.spec.model,
    request: record.request,
    assets: record.assets,
  };
}
