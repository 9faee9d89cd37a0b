import path from 'node:path';
import { estimateStory, type PriceTable } from '../common/pricing';
import { type CostEstimate } from '../common/progress';
import { isUrlReference, parseStory, type StorySpec } from '../common/story';

/**
 * Validates a story, resolves its relative keyframe and audio paths against `baseDir` (default: this process's
 * working directory, so the workers read exactly the file that was checked here), and estimates its cost.
 */
export function prepareStory(
  story: unknown,
  prices: PriceTable,
  baseDir: string = process.cwd()
): { spec: StorySpec; estimate: CostEstimate } {
  const spec = parseStory(story);
  const resolve = (ref: string) => (isUrlReference(ref) ? ref : path.resolve(baseDir, ref));
  if (spec.keyframes) spec.keyframes = spec.keyframes.map((k) => (k ? resolve(k) : k));
  if (spec.audio) spec.audio = { ...spec.audio, src: resolve(spec.audio.src) };
  return { spec, estimate: estimateStory(spec, prices) };
}
