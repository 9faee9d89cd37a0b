// Frozen: the v1 story's keyframe images, each variation generated and polled by the story itself.
import { ApplicationFailure } from '@temporalio/workflow';
import { generationKey } from '../../../common/constants';
import { FailureType, isRefusal } from '../../../common/failures';
import { imageCredits } from '../../../common/pricing';
import type { KeyframeProgress, KeyframeVariation } from '../../../common/progress';
import { mapWithLimit } from '../../concurrency';
import { reserve, settle, supplied, type V1Run } from './run';

/** Keyframe images generated at once per story; Luma allows 40 image generations in flight per account. */
const KEYFRAME_CONCURRENCY = 8;
/** New generations tried when a keyframe image generation fails. */
const KEYFRAME_ATTEMPTS = 3;

async function generateVariation(r: V1Run, kf: KeyframeProgress, v: KeyframeVariation): Promise<void> {
  const { spec, storyId } = r;
  const cost = imageCredits(r.prices, spec.imageModel);
  for (let attempt = 1; attempt <= KEYFRAME_ATTEMPTS; attempt++) {
    await reserve(r, cost, `keyframe ${kf.boundary} variation ${v.index}`);
    v.state = 'generating';
    let spent = 0;
    try {
      const { generationId } = await r.luma.submitImageGeneration({
        key: generationKey(storyId, 'keyframe', kf.boundary, 'variation', v.index, 'attempt', attempt),
        prompt: kf.prompt,
        model: spec.imageModel,
        aspectRatio: spec.aspectRatio,
      });
      v.generationId = generationId;
      r.inFlight.add(generationId);
      const finished = await r.lumaWait.awaitGeneration({ generationId });
      r.inFlight.delete(generationId);
      if (finished.state === 'completed') {
        spent = cost;
        v.credits = cost;
        const ref = await r.media.ingestKeyframe({
          storyId,
          name: `keyframes/b${kf.boundary}-v${v.index}.png`,
          source: { providerUrl: finished.assetUrl! },
          width: r.width,
          height: r.height,
        });
        Object.assign(v, ref, { state: 'ready', error: undefined });
        return;
      }
      v.error = finished.failureReason;
      if (isRefusal(finished.failureReason)) break;
    } finally {
      settle(r, cost, spent);
    }
  }
  v.state = 'failed';
}

async function importSupplied(r: V1Run, kf: KeyframeProgress): Promise<void> {
  const v: KeyframeVariation = { index: 0, state: 'generating', credits: 0, supplied: true };
  kf.variations.push(v);
  const ref = await r.media.ingestKeyframe({
    storyId: r.storyId,
    name: `keyframes/b${kf.boundary}-supplied.png`,
    source: { supplied: r.spec.keyframes![kf.boundary]! },
    width: r.width,
    height: r.height,
  });
  Object.assign(v, ref, { state: 'ready' });
  kf.picked = 0;
}

export async function makeKeyframes(r: V1Run, boundaries: number[]): Promise<void> {
  const { state, spec } = r;
  const jobs: Array<() => Promise<void>> = [];
  for (const b of boundaries) {
    const kf = state.keyframes[b];
    kf.state = 'generating';
    if (supplied(r, b)) {
      jobs.push(() => importSupplied(r, kf));
      continue;
    }
    for (let i = 0; i < spec.variations; i++) {
      const v: KeyframeVariation = { index: kf.variations.length, state: 'pending', credits: 0 };
      kf.variations.push(v);
      jobs.push(() => generateVariation(r, kf, v));
    }
  }
  await mapWithLimit(jobs, KEYFRAME_CONCURRENCY, (job) => job());
  for (const b of boundaries) {
    const kf = state.keyframes[b];
    const ready = kf.variations.filter((v) => v.state === 'ready');
    kf.state = ready.length > 0 ? 'ready' : 'failed';
    if (kf.picked === undefined || kf.variations[kf.picked]?.state !== 'ready') kf.picked = ready[0]?.index;
    if (ready.length === 0) {
      const reason = kf.variations.at(-1)?.error ?? 'no variation could be made';
      throw ApplicationFailure.create({
        type: FailureType.GenerationFailed,
        message: `keyframe ${b}: no usable image (${reason})`,
        nonRetryable: true,
      });
    }
  }
}
