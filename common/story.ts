import { z } from 'zod';
import { DURATION_PATTERN, durationMs } from './duration';
import {
  ASPECT_RATIOS,
  IMAGE_MODELS,
  orList,
  providerOf,
  RESOLUTIONS,
  VIDEO_MODELS,
  videoModelInfo,
  type ProviderId,
  type VideoModel,
  type VideoModelInfo,
} from './models';
import { parseWith } from './validation';

export { ASPECT_RATIOS, IMAGE_MODELS, RESOLUTIONS, VIDEO_MODELS };
export type { AspectRatio, ImageModel, Resolution, VideoModel } from './models';

/** How shots are made: all at once under a cap, or each from the last frame of the one before. */
export const STORY_MODES = ['parallel', 'chained'] as const;

/** Prompt length bounds (Luma's; a video model may allow fewer characters, see its `maxPromptLength`). */
export const PROMPT_MIN = 3;
export const PROMPT_MAX = 5000;

const videoModelSchema = z.enum(VIDEO_MODELS, { error: `must be one of ${VIDEO_MODELS.join(', ')}` });

const shotSchema = z
  .object({
    description: z.string().trim().min(PROMPT_MIN, `must be at least ${PROMPT_MIN} characters`).max(PROMPT_MAX),
    /** Seconds; which lengths are allowed depends on the shot's model (checked with the whole story). */
    duration: z.number({ error: 'must be a number of seconds' }).int('must be whole seconds').min(1).max(60).default(5),
    keyframePrompt: z.string().trim().min(PROMPT_MIN).max(PROMPT_MAX).optional(),
    /** This shot's model instead of the story's (e.g. a premium model for the hero shot). */
    videoModel: videoModelSchema.optional(),
    /** This shot's fallback instead of the story's. */
    fallbackVideoModel: videoModelSchema.optional(),
  })
  .strict();

const reviewSchema = z
  .object({
    keyframes: z.boolean().default(true),
    clips: z.boolean().default(false),
    timeout: z.string().regex(DURATION_PATTERN, 'must be a duration such as 90s, 15m, 72h or 2d').default('72h'),
    onTimeout: z.enum(['fail', 'approve']).default('fail'),
    /** Keyframe rounds a reviewer may ask for (the first round counts), so review loops stay bounded. */
    maxRounds: z.number().int().min(1).max(20).default(5),
  })
  .strict();

/** The one schema of a story file; every edge (CLI, HTTP, client library, workflow input) validates with it. */
export const storySpecSchema = z
  .object({
    title: z.string().trim().min(1, 'is required').max(200),
    style: z.string().trim().max(1000).default(''),
    aspectRatio: z.enum(ASPECT_RATIOS).default('16:9'),
    resolution: z.enum(RESOLUTIONS).default('720p'),
    videoModel: videoModelSchema.default('ray-3-14'),
    /** A model of another provider that takes a shot whose provider failed for a non-content reason. */
    fallbackVideoModel: videoModelSchema.optional(),
    imageModel: z.enum(IMAGE_MODELS).default('photon-1'),
    mode: z.enum(STORY_MODES).default('parallel'),
    variations: z.number().int().min(1).max(4).default(3),
    review: reviewSchema.default({ keyframes: true, clips: false, timeout: '72h', onTimeout: 'fail', maxRounds: 5 }),
    // A real queue can hold a clip for an hour at peak; the default leaves room for that several times over.
    generationTimeout: z
      .string()
      .regex(DURATION_PATTERN, 'must be a duration such as 90s, 15m, 6h or 2d')
      .refine((d) => durationMs(d) >= 1000, 'must be at least 1s')
      .default('6h'),
    transition: z
      .object({ crossfade: z.number().min(0).max(2).default(0.5) })
      .strict()
      .default({ crossfade: 0.5 }),
    audio: z
      .object({ src: z.string().min(1), volume: z.number().min(0).max(4).default(1) })
      .strict()
      .optional(),
    budgetCredits: z.number().positive().optional(),
    onBudgetExceeded: z.enum(['fail', 'wait']).default('fail'),
    maxParallelShots: z.number().int().min(1).max(50).default(5),
    maxClipAttempts: z.number().int().min(1).max(10).default(3),
    shots: z.array(shotSchema).min(1, 'needs at least 1 shot').max(50, 'allows at most 50 shots'),
    keyframes: z.array(z.string().min(1).nullable()).optional(),
  })
  .strict()
  .superRefine((story, ctx) => {
    if (story.keyframes && story.keyframes.length !== story.shots.length + 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['keyframes'],
        message: `must have ${story.shots.length + 1} entries (one per boundary: shots + 1), got ${story.keyframes.length}`,
      });
    }
    const shortest = Math.min(...story.shots.map((s) => s.duration));
    if (story.transition.crossfade >= shortest) {
      ctx.addIssue({
        code: 'custom',
        path: ['transition', 'crossfade'],
        message: `must be shorter than the shortest shot (${shortest}s)`,
      });
    }
  })
  // Runs even when other fields are wrong, so a bad clip length is reported with them (it reads what it can).
  .superRefine(
    (story, ctx) => checkCapabilities(story, (path, message) => ctx.addIssue({ code: 'custom', path, message })),
    { when: (payload) => Array.isArray((payload.value as { shots?: unknown } | undefined)?.shots) }
  );

/** Where a shot goes: its model and provider, its fallback (of another provider) if any, and the fields that chose them. */
export interface ShotRoute {
  model: VideoModel;
  provider: ProviderId;
  /** The story field that names the model (`videoModel` or `shots[i].videoModel`), for errors. */
  modelField: Array<string | number>;
  fallback?: { model: VideoModel; provider: ProviderId; field: Array<string | number> };
}

/**
 * The route of shot `i`: the shot's own `videoModel` or the story's; its own `fallbackVideoModel` or the story's,
 * which applies only where it is another provider's (a fallback on the same provider would meet the same outage).
 */
export function shotRoute(
  story: Pick<StorySpec, 'videoModel' | 'fallbackVideoModel'> & { shots: ReadonlyArray<Partial<ShotSpec>> },
  i: number
): ShotRoute {
  const shot = story.shots[i] ?? {};
  const model = (shot.videoModel ?? story.videoModel) as VideoModel;
  const provider = providerOf(model);
  const route: ShotRoute = {
    model,
    provider,
    modelField: shot.videoModel ? ['shots', i, 'videoModel'] : ['videoModel'],
  };
  const fallback = shot.fallbackVideoModel ?? story.fallbackVideoModel;
  if (fallback && providerOf(fallback) !== provider) {
    route.fallback = {
      model: fallback as VideoModel,
      provider: providerOf(fallback),
      field: shot.fallbackVideoModel ? ['shots', i, 'fallbackVideoModel'] : ['fallbackVideoModel'],
    };
  }
  return route;
}

/**
 * Checks every shot against what its model (and its fallback) can make: clip length, the story's aspect ratio and
 * resolution, prompt length; and that a fallback is another provider's. Each problem names the field to change.
 */
function checkCapabilities(story: StorySpec, issue: (path: Array<string | number>, message: string) => void): void {
  const known = (model: unknown) => typeof model === 'string' && videoModelInfo(model) !== undefined;
  if (!known(story.videoModel ?? 'ray-3-14')) return;
  story = {
    ...story,
    videoModel: story.videoModel ?? 'ray-3-14',
    style: typeof story.style === 'string' ? story.style : '',
  };
  if (story.fallbackVideoModel !== undefined && !known(story.fallbackVideoModel))
    story = { ...story, fallbackVideoModel: undefined };
  const seen = new Set<string>();
  const once = (path: Array<string | number>, message: string) => {
    const id = `${path.join('.')}\u0000${message}`;
    if (seen.has(id)) return;
    seen.add(id);
    issue(path, message);
  };
  if (story.fallbackVideoModel && providerOf(story.fallbackVideoModel) === providerOf(story.videoModel)) {
    once(
      ['fallbackVideoModel'],
      `must be a model of another provider than ${story.videoModel}'s (${providerOf(story.videoModel)}): a fallback takes shots whose provider failed`
    );
  }
  story.shots.forEach((raw, i) => {
    if (!raw || typeof raw !== 'object') return;
    const shot = {
      ...raw,
      videoModel: known(raw.videoModel) ? raw.videoModel : undefined,
      fallbackVideoModel: known(raw.fallbackVideoModel) ? raw.fallbackVideoModel : undefined,
    };
    const shots = story.shots.map((s, j) => (j === i ? shot : s));
    const route = shotRoute({ ...story, shots }, i);
    if (shot.fallbackVideoModel && providerOf(shot.fallbackVideoModel) === route.provider) {
      once(
        ['shots', i, 'fallbackVideoModel'],
        `must be a model of another provider than ${route.model}'s (${route.provider}): a fallback takes shots whose provider failed`
      );
    }
    const models: Array<{ info: VideoModelInfo; field: Array<string | number>; role: string }> = [
      { info: videoModelInfo(route.model)!, field: route.modelField, role: 'on' },
    ];
    if (route.fallback) {
      models.push({
        info: videoModelInfo(route.fallback.model)!,
        field: route.fallback.field,
        role: 'on its fallback',
      });
    }
    for (const { info, field, role } of models) {
      if (typeof shot.duration === 'number' && !info.durations.includes(shot.duration)) {
        once(['shots', i, 'duration'], `must be ${orList(info.durations)} (seconds) ${role} ${info.id}`);
      }
      if (ASPECT_RATIOS.includes(story.aspectRatio) && !info.aspectRatios.includes(story.aspectRatio)) {
        once(
          field,
          `${info.id} cannot make ${story.aspectRatio} clips (it makes ${orList(info.aspectRatios)}): change aspectRatio or the model`
        );
      }
      if (RESOLUTIONS.includes(story.resolution) && !info.resolutions.includes(story.resolution)) {
        once(
          field,
          `${info.id} cannot make ${story.resolution} clips (it makes ${orList(info.resolutions)}): change resolution or the model`
        );
      }
      const prompt =
        typeof shot.description === 'string'
          ? composeShotPrompt(story.style, shot.description, [], Number.POSITIVE_INFINITY)
          : '';
      if (prompt.length > info.maxPromptLength) {
        once(
          ['shots', i, 'description'],
          `with the style the prompt is ${prompt.length} characters; ${info.id} allows ${info.maxPromptLength}`
        );
      }
    }
  });
}

/** A story as written in a story file (defaults may be missing). */
export type StorySpecInput = z.input<typeof storySpecSchema>;
/** A validated story with every default filled in. */
export type StorySpec = z.output<typeof storySpecSchema>;
/** One shot of a validated story. */
export type ShotSpec = StorySpec['shots'][number];

/** Validates a story and fills in its defaults. */
export function parseStory(value: unknown): StorySpec {
  return parseWith(storySpecSchema, value, 'story');
}

function joinPrompt(...parts: string[]): string {
  return parts
    .map((p) => p.trim())
    .filter(Boolean)
    .join('. ');
}

/** The prompt of a shot's clip: the style, then what happens, cut to `maxLength` (the model's limit). */
export function composeShotPrompt(
  style: string,
  description: string,
  feedback: string[] = [],
  maxLength: number = PROMPT_MAX
): string {
  return joinPrompt(style, description, ...feedback.map((f) => `Reviewer note: ${f}`)).slice(0, maxLength);
}

/**
 * The prompt of boundary keyframe `boundary` (0..N): the opening frame shows the start of shot 0, a transition frame
 * the moment shot b-1 hands over to shot b, the closing frame the end of the last shot.
 */
export function keyframePrompt(story: StorySpec, boundary: number): string {
  const shots = story.shots;
  const custom = shots[boundary]?.keyframePrompt;
  let scene: string;
  if (custom) scene = custom;
  else if (boundary === 0) scene = `Opening frame: ${shots[0].description}`;
  else if (boundary === shots.length) scene = `Closing frame: ${shots[shots.length - 1].description}`;
  else scene = `Transition from "${shots[boundary - 1].description}" to "${shots[boundary].description}"`;
  return joinPrompt(story.style, scene).slice(0, PROMPT_MAX);
}

/** One input a story supplies instead of having it made: a keyframe image or its audio track. */
export interface SuppliedInput {
  /** The story field it comes from, as errors name it: `keyframes[2]`, `audio.src`. */
  field: string;
  kind: 'image' | 'audio';
  /** The path or URL as the story gives it. */
  ref: string;
  /** The keyframe boundary, for images. */
  boundary?: number;
}

/** Every supplied input of a story, keyframes in boundary order, then the audio track. */
export function suppliedInputs(story: StorySpec): SuppliedInput[] {
  const inputs: SuppliedInput[] = [];
  story.keyframes?.forEach((ref, boundary) => {
    if (ref) inputs.push({ field: `keyframes[${boundary}]`, kind: 'image', ref, boundary });
  });
  if (story.audio) inputs.push({ field: 'audio.src', kind: 'audio', ref: story.audio.src });
  return inputs;
}

/** Whether an input reference is a URL (it has a scheme) rather than a file path. */
export function isUrlReference(ref: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(ref.trim());
}
