// Every provider and model reelflow can use, with what each can make: the one catalog that validation, routing,
// pricing, the gate, `reelflow models` and `GET /v1/models` read. Pure data (safe in the workflow sandbox and the
// browser); how to talk to a provider lives in providers/, its prices in pricing.ts.

/** Output resolutions; the number is the frame's short side. */
export const RESOLUTIONS = ['540p', '720p', '1080p', '4k'] as const;
/** Aspect ratios a story may ask for (each model supports some of them). */
export const ASPECT_RATIOS = ['1:1', '16:9', '9:16', '4:3', '3:4', '21:9', '9:21'] as const;

export type AspectRatio = (typeof ASPECT_RATIOS)[number];
export type Resolution = (typeof RESOLUTIONS)[number];

/** The provider accounts reelflow talks to. */
export const PROVIDER_IDS = ['luma', 'fal'] as const;
/** One provider account. */
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** A provider's name in messages (Luma's as its users know it). */
export function providerName(provider: ProviderId): string {
  return provider === 'luma' ? 'Luma' : provider;
}

/** Model families a provider limits separately (Luma: Ray video models and Photon image models). */
export const GENERATION_FAMILIES = ['video', 'image'] as const;
/** A model family with limits of its own. */
export type GenerationFamily = (typeof GENERATION_FAMILIES)[number];

/** What a provider is, how it bills, and the account limits reelflow keeps by default (overridable by settings). */
export interface ProviderInfo {
  id: ProviderId;
  name: string;
  /** The official TypeScript SDK reelflow drives (unmodified). */
  sdk: string;
  /**
   * When it charges: `on-create` (charged when the create is accepted, refunded when the generation fails; one
   * stopped in flight stays paid: Luma), or `on-success` (charged only for a finished result; nothing for a
   * failed or cancelled request: fal).
   */
  billing: 'on-create' | 'on-success';
  /** The families it makes and the default limits of each (in flight at once, creates a minute). */
  families: Partial<Record<GenerationFamily, { maxInFlight: number; createsPerMinute: number }>>;
  docs: string;
}

/** The provider accounts, by id. */
export const PROVIDERS: Record<ProviderId, ProviderInfo> = {
  luma: {
    id: 'luma',
    name: 'Luma Dream Machine',
    sdk: 'lumaai',
    billing: 'on-create',
    // Luma's Build tier: Ray 10 in flight and 20 creates a minute, Photon 40 and 80.
    families: { video: { maxInFlight: 10, createsPerMinute: 20 }, image: { maxInFlight: 40, createsPerMinute: 80 } },
    docs: 'https://docs.lumalabs.ai/docs/api',
  },
  fal: {
    id: 'fal',
    name: 'fal.ai (hosted models: Kling, Veo)',
    sdk: '@fal-ai/client',
    billing: 'on-success',
    // fal never refuses for concurrency (extra requests wait IN_QUEUE) and has no per-minute limit; these are
    // reelflow's own pacing of the account, a setting.
    families: { video: { maxInFlight: 10, createsPerMinute: 60 } },
    docs: 'https://docs.fal.ai/model-apis/model-endpoints/queue',
  },
};

/** What one video model can make. */
export interface VideoModelInfo {
  /** reelflow's name for it (the story's `videoModel`). */
  id: string;
  provider: ProviderId;
  /** The provider's own name: Luma's model id, fal's endpoint id. */
  providerModel: string;
  label: string;
  /** Clip lengths it makes, in seconds. */
  durations: readonly number[];
  resolutions: readonly Resolution[];
  aspectRatios: readonly AspectRatio[];
  /** Whether it takes an END frame: `optional` (START alone works too) or `required` (first-last-frame models). */
  endFrame: 'optional' | 'required';
  /** Longest prompt it accepts, in characters. */
  maxPromptLength: number;
  /** Anything a caller should know (how the clip size is decided, what is sent). */
  notes?: string;
}

const LUMA_DURATIONS = [5, 9] as const;

/** Every video model, in the order listings show them; the first is the default. */
export const VIDEO_MODEL_CATALOG = [
  luma('ray-3-14', 'Ray 3.14: native 1080p, start+end frames (the default)'),
  luma('ray-3', 'Ray 3: start+end frames'),
  luma('ray-2', 'Ray 2'),
  luma('ray-flash-2', 'Ray Flash 2: faster, cheaper'),
  {
    id: 'kling-2.5-turbo-pro',
    provider: 'fal',
    providerModel: 'fal-ai/kling-video/v2.5-turbo/pro/image-to-video',
    label: 'Kling 2.5 Turbo Pro on fal: START image_url, END tail_image_url',
    durations: [5, 10],
    resolutions: RESOLUTIONS,
    aspectRatios: ['16:9', '9:16', '1:1'],
    endFrame: 'optional',
    maxPromptLength: 2500,
    notes: 'takes no size or aspect ratio: the clip follows its START frame, which reelflow fits to the story frame',
  },
  {
    id: 'veo-3.1-fast',
    provider: 'fal',
    providerModel: 'fal-ai/veo3.1/fast/first-last-frame-to-video',
    label: 'Veo 3.1 Fast first-last-frame on fal',
    durations: [4, 6, 8],
    resolutions: ['720p', '1080p', '4k'],
    aspectRatios: ['16:9', '9:16'],
    endFrame: 'required',
    maxPromptLength: 5000,
    notes: 'sent with generate_audio: false (reelflow lays its own audio track), priced without audio',
  },
] as const satisfies readonly VideoModelInfo[];

function luma<const Id extends string>(id: Id, label: string) {
  return {
    id,
    provider: 'luma' as const,
    providerModel: id,
    label,
    durations: LUMA_DURATIONS,
    resolutions: RESOLUTIONS,
    aspectRatios: ASPECT_RATIOS,
    endFrame: 'optional' as const,
    maxPromptLength: 5000,
  };
}

/** Every video model's name. */
export const VIDEO_MODELS = VIDEO_MODEL_CATALOG.map((m) => m.id) as unknown as readonly [VideoModel, ...VideoModel[]];
/** A video model's name. */
export type VideoModel = (typeof VIDEO_MODEL_CATALOG)[number]['id'];
/** Luma's video models (the names its API takes). */
export const LUMA_VIDEO_MODELS = ['ray-2', 'ray-flash-2', 'ray-3', 'ray-3-14'] as const;
/** A Luma video model. */
export type LumaVideoModel = (typeof LUMA_VIDEO_MODELS)[number];

/** Image (keyframe) models: Luma's Photon family only; fal is used for clips alone. */
export const IMAGE_MODELS = ['photon-1', 'photon-flash-1'] as const;
/** An image model. */
export type ImageModel = (typeof IMAGE_MODELS)[number];
/** The provider of every image model. */
export const IMAGE_PROVIDER: ProviderId = 'luma';

/** What a video model can make; undefined for a name the catalog does not know. */
export function videoModelInfo(model: string): VideoModelInfo | undefined {
  return (VIDEO_MODEL_CATALOG as readonly VideoModelInfo[]).find((m) => m.id === model);
}

/** The provider of a video or image model; models of stories recorded before the catalog are Luma's. */
export function providerOf(model: string | undefined): ProviderId {
  return videoModelInfo(model ?? '')?.provider ?? 'luma';
}

/** Whether a generation stopped in flight (deleted, cancelled) is still charged by its provider. */
export function billsStopped(provider: ProviderId): boolean {
  return PROVIDERS[provider].billing === 'on-create';
}

/** `a, b or c`: how a list of allowed values reads in an error. */
export function orList(values: readonly (string | number)[]): string {
  const items = values.map(String);
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
