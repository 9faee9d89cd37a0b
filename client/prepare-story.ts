import path from 'node:path';
import { estimateStory, type PriceTable } from '../common/pricing';
import { type CostEstimate } from '../common/progress';
import { parseStory, type StorySpec } from '../common/story';

/** Validates a story, resolves its relative keyframe and audio paths against `baseDir`, and estimates its cost. */
export function prepareStory(
  story: unknown,
  prices: PriceTable,
  baseDir?: string
): { spec: StorySpec; estimate: CostEstimate } {
  const spec = parseStory(story);
  if (baseDir) {
    const resolve = (ref: string) => (/^[a-z][a-z0-9+.-]*:/i.test(ref) ? ref : path.resolve(baseDir, ref));
    if (spec.keyframes) spec.keyframes = spec.keyframes.map((k) => (k ? resolve(k) : k));
    if (spec.audio) spec.audio = { ...spec.audio, src: resolve(spec.audio.src) };
  }
  return { spec, estimate: estimateStory(spec, prices) };
}
