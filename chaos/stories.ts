import type { StorySpecInput } from '../common/story';
import { SAMPLE_SCENES as SCENES } from '../dev/sample-scenes';

/** Which door a story is started through and how its reviews are sent. */
export type StartDoor = 'library' | 'http';
/** How a story's reviews reach it: the library, the API with a reviewer token, or the API with its review link. */
export type ReviewDoor = 'library' | 'http-token' | 'http-link';

/** A story of the suite with how it is driven. */
export interface ChaosStory {
  id: string;
  story: StorySpecInput;
  start: StartDoor;
  review: ReviewDoor;
  /** Reject the first clip of shot 1 once (a clip-review story only), so a rejected clip is paid and redone. */
  rejectFirstClip: boolean;
}

/** A small story: 540p, 5 s shots, a short cross-fade. */
export function smallStory(options: {
  title: string;
  shots: number;
  mode?: 'parallel' | 'chained';
  keyframeReview?: boolean;
  clipReview?: boolean;
  variations?: number;
  offset?: number;
}): StorySpecInput {
  const offset = options.offset ?? 0;
  return {
    title: options.title,
    style: 'photorealistic, soft cinematic light',
    aspectRatio: '16:9',
    resolution: '540p',
    mode: options.mode ?? 'parallel',
    variations: options.variations ?? 1,
    transition: { crossfade: 0.25 },
    review: {
      keyframes: options.keyframeReview ?? false,
      clips: options.clipReview ?? false,
      timeout: '1h',
      onTimeout: 'fail',
    },
    shots: Array.from({ length: options.shots }, (_, i) => ({
      description: SCENES[(i + offset) % SCENES.length],
      duration: 5 as const,
    })),
  };
}

/**
 * `n` stories covering both modes and every combination of keyframe and clip review within each run of four,
 * with 3–5 shots, 1–2 variations and the start and review doors drawn from the seeded generator.
 */
export function storyMix(prefix: string, n: number, random: () => number): ChaosStory[] {
  return Array.from({ length: n }, (_, i) => {
    const mode = i % 2 === 0 ? 'parallel' : 'chained';
    const keyframeReview = i % 4 < 2;
    const clipReview = (i + 1) % 4 < 2;
    const shots = 3 + Math.floor(random() * 3);
    const variations = random() < 0.3 ? 2 : 1;
    const start: StartDoor = random() < 0.5 ? 'library' : 'http';
    const review: ReviewDoor = start === 'http' ? (random() < 0.5 ? 'http-link' : 'http-token') : 'library';
    const rejectFirstClip = clipReview && random() < 0.3;
    const id = `${prefix}-${String(i + 1).padStart(2, '0')}`;
    return {
      id,
      story: smallStory({ title: `chaos ${id}`, shots, mode, keyframeReview, clipReview, variations, offset: i }),
      start,
      review,
      rejectFirstClip,
    };
  });
}

/** A one-line description of a story's shape, for logs and the report. */
export function describe(s: ChaosStory): string {
  const r = s.story.review!;
  return (
    `${s.id}: ${s.story.mode} ×${s.story.shots.length}, v${s.story.variations}, ` +
    `review ${r.keyframes ? 'kf' : '-'}/${r.clips ? 'clips' : '-'}${s.rejectFirstClip ? ' (reject once)' : ''}, ` +
    `start ${s.start}, reviews ${s.review}`
  );
}
