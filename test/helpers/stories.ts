import type { StorySpecInput } from '../../common/story';

/** A story as a test writes it (defaults may be missing). */
export type StoryInputForTests = StorySpecInput;

const SCENES = [
  'a phone resting on a marble table in late-afternoon light',
  'a hand lifts the phone and the screen wakes',
  'a thumb swipes through colourful charts in the app',
  'the camera pulls back to a smiling person in a bright office',
  'a wide closing shot of the office with a faint logo',
];

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
