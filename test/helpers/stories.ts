import type { StorySpecInput } from '../../common/story';
import { SAMPLE_SCENES } from '../../dev/sample-scenes';

/** A story as a test writes it (defaults may be missing). */
export type StoryInputForTests = StorySpecInput;

// The first five: the descriptions the recorded tests were written with.
const SCENES = SAMPLE_SCENES.slice(0, 5);

/** A small, fast story for tests: 540p, 5 s shots, a short cross-fade. */
export function smallStory(options: Omit<Partial<StorySpecInput>, 'shots'> & { shots?: number } = {}): StorySpecInput {
  const { shots = 2, ...rest } = options;
  return {
    title: 'Test story',
    style: 'photorealistic, soft cinematic light',
    aspectRatio: '16:9',
    resolution: '540p',
    variations: 1,
    transition: { crossfade: 0.5 },
    review: { keyframes: true, clips: false, timeout: '1h', onTimeout: 'fail' },
    ...rest,
    shots: Array.from({ length: shots }, (_, i) => ({ description: SCENES[i % SCENES.length], duration: 5 as const })),
  };
}
