import { z } from 'zod';
import { DURATION_PATTERN, durationMs } from './duration';
import { parseWith } from './validation';

/** Aspect ratios the Luma API accepts. */
export const ASPECT_RATIOS = ['1:1', '16:9', '9:16', '4:3', '3:4', '21:9', '9:21'] as const;
/** Output resolutions; the number is the frame's short side. */
export const RESOLUTIONS = ['540p', '720p', '1080p', '4k'] as const;
/** Luma video models. */
export const VIDEO_MODELS = ['ray-2', 'ray-flash-2', 'ray-3', 'ray-3-14'] as const;
/** Luma image models. */
export const IMAGE_MODELS = ['photon-1', 'photon-flash-1'] as const;

/** How shots are made: all at once under a cap, or each from the last frame of the one before. */
export const STORY_MODES = ['parallel', 'chained'] as const;

/** Luma's prompt length bounds. */
export const PROMPT_MIN = 3;
export const PROMPT_MAX = 5000;

export type AspectRatio = (typeof ASPECT_RATIOS)[number];
export type Resolution = (typeof RESOLUTIONS)[number];
export type VideoModel = (typeof VIDEO_MODELS)[number];
export type ImageModel = (typeof IMAGE_MODELS)[number];

const shotSchema = z
  .object({
    description: z.string().trim().min(PROMPT_MIN, `must be at least ${PROMPT_MIN} characters`).max(PROMPT_MAX),
    duration: z.union([z.literal(5), z.literal(9)], { error: 'must be 5 or 9 (seconds)' }).default(5),
    keyframePrompt: z.string().trim().min(PROMPT_MIN).max(PROMPT_MAX).optional(),
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
    videoModel: z.enum(VIDEO_MODELS).default('ray-3-14'),
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
    story.shots.forEach((shot, i) => {
      // Measured before composeShotPrompt's cut to PROMPT_MAX, which would hide the overflow (and lose the end).
      const length = joinPrompt(story.style, shot.description).length;
      if (length > PROMPT_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: ['shots', i, 'description'],
          message: `with the style the prompt is ${length} characters; Luma allows ${PROMPT_MAX}`,
        });
      }
    });
  });

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

/** The prompt of a shot's clip: the style, then what happens. */
export function composeShotPrompt(style: string, description: string, feedback: string[] = []): string {
  return joinPrompt(style, description, ...feedback.map((f) => `Reviewer note: ${f}`)).slice(0, PROMPT_MAX);
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
