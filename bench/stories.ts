/** The stories the bench drives, and running a batch of them to their end. */
import type { StoryResult } from '../common/progress';
import type { StorySpecInput } from '../common/story';
import type { ReelflowClient } from '../client/reelflow-client';
import { SAMPLE_SCENES } from '../dev/sample-scenes';

const SCENES = SAMPLE_SCENES.slice(0, 6);

/**
 * A bench story: 5 s shots at 540p square (the smallest frame the story schema allows: the figures do not depend
 * on the size), one variation per keyframe, every shot at once, and no review unless asked.
 */
export function benchStory(opts: {
  title: string;
  shots: number;
  mode?: 'parallel' | 'chained';
  keyframeReview?: boolean;
  keyframes?: string[];
}): StorySpecInput {
  return {
    title: opts.title,
    style: 'photorealistic, soft cinematic light',
    aspectRatio: '1:1',
    resolution: '540p',
    mode: opts.mode ?? 'parallel',
    variations: 1,
    maxParallelShots: opts.shots,
    review: { keyframes: opts.keyframeReview ?? false, clips: false, timeout: '6h', onTimeout: 'fail' },
    shots: Array.from({ length: opts.shots }, (_, i) => ({
      description: SCENES[i % SCENES.length],
      duration: 5 as const,
    })),
    ...(opts.keyframes && { keyframes: opts.keyframes }),
  };
}

/** Starts every story at once (at most `startsAtOnce` starts in flight) and waits for each result. */
export async function runToEnd(
  client: ReelflowClient,
  stories: Array<{ id: string; story: StorySpecInput }>,
  startsAtOnce = 20
): Promise<StoryResult[]> {
  await forEachLimited(stories, startsAtOnce, (s) => client.start(s.story, { storyId: s.id }));
  const results = await Promise.all(stories.map((s) => client.result(s.id)));
  const bad = results.filter((r) => r.status !== 'completed');
  if (bad.length) {
    throw new Error(`${bad.length} of ${results.length} stories did not complete: ${bad[0].storyId}: ${bad[0].error}`);
  }
  return results;
}

/** Runs `fn` over `items`, at most `limit` at once. */
export async function forEachLimited<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    })
  );
}

/** A run-unique id prefix, so parts of one bench run (and runs on one dev server) never share story ids. */
export function runTag(): string {
  return Date.now().toString(36);
}
