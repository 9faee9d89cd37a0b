import { executeChild, setHandler } from '@temporalio/workflow';
import { failure, FailureType } from '../../common/failures';
import type { KeyframeVariation } from '../../common/progress';
import { imageCredits } from '../../common/pricing';
import { keyframesWorkflow, type KeyframeJob } from '../keyframes';
import { keyframesUpdated } from '../messages';
import { recordPaid, reserve, unreserve } from './budget';
import { line } from '../../common/summaries';
import { showDetails, type StoryRun } from './run';

/** Keyframe images generated at once per story (one gate permit per batch). */
const KEYFRAME_BATCH = 8;
/** Paid tries per variation when generations fail for reasons a new try can fix. */
const KEYFRAME_ATTEMPTS = 3;

/** Keeps the story's keyframe progress and ledger current while a round runs in its child workflow. */
export function followKeyframeRounds(run: StoryRun): void {
  setHandler(keyframesUpdated, ({ variations, paid }) => {
    applyVariations(run, variations);
    recordPaid(run, paid);
    showDetails(run);
  });
}

/**
 * Makes (or remakes) the keyframes of `boundaries` in one child workflow: supplied images are imported, generated
 * ones get `variations` new variations each (appended, so older ones stay pickable). Fails the story when a boundary
 * ends with no usable image.
 */
export async function makeKeyframes(run: StoryRun, boundaries: number[]): Promise<void> {
  const { spec, state } = run;
  const jobs: KeyframeJob[] = [];
  for (const b of boundaries) {
    const kf = state.progress.keyframes[b];
    kf.state = 'generating';
    const supplied = spec.keyframes?.[b];
    const checked = state.inputs?.keyframes.find((k) => k.boundary === b);
    if (supplied && checked) {
      // Checked and stored before anything was paid: used as it is, not fetched again.
      const { key, path, url } = checked;
      kf.variations = [{ index: 0, state: 'ready', credits: 0, supplied: true, key, path, url }];
      continue;
    }
    if (supplied) {
      kf.variations = [{ index: 0, state: 'pending', credits: 0, supplied: true }];
      jobs.push({ boundary: b, variation: 0, prompt: kf.prompt, supplied });
      continue;
    }
    for (let i = 0; i < spec.variations; i++) {
      const index = kf.variations.length;
      kf.variations.push({ index, state: 'pending', credits: 0 });
      jobs.push({ boundary: b, variation: index, prompt: kf.prompt });
    }
  }
  const perImage = imageCredits(run.prices, spec.imageModel);
  const credits = perImage * jobs.filter((j) => !j.supplied).length;
  const round = ++state.keyframeRounds;
  await reserve(run, credits, `keyframe round ${round}`);
  try {
    // Only stories that checked their inputs first can have nothing left to make here (every keyframe supplied).
    if (jobs.length > 0) {
      const result = await executeChild(keyframesWorkflow, {
        workflowId: `${run.storyId}-keyframes-${round}`,
        taskQueue: run.queues.workflows,
        staticSummary: line(
          `keyframes round ${round}`,
          `boundaries ${boundaries.join(', ')}`,
          `${jobs.length - jobs.filter((j) => j.supplied).length} images ${spec.imageModel}`
        ),
        args: [
          {
            storyId: run.storyId,
            keyPrefix: `${run.keyBase}/kf`,
            sinceMs: Date.now(),
            jobs,
            imageModel: spec.imageModel,
            aspectRatio: spec.aspectRatio,
            width: run.frame.width,
            height: run.frame.height,
            assetPrefix: `${run.assetBase}/keyframes`,
            creditsPerImage: perImage,
            generationTimeoutMs: run.generationTimeoutMs,
            batchSize: KEYFRAME_BATCH,
            attemptsPerVariation: KEYFRAME_ATTEMPTS,
            queues: run.queues,
            gate: run.gate,
            pollWindowMs: run.timings.pollWindowMs,
            gateRecheckMs: run.timings.gateRecheckMs,
          },
        ],
      });
      applyVariations(run, result.variations);
      recordPaid(run, result.paid);
    }
  } finally {
    unreserve(run, credits);
  }
  for (const b of boundaries) {
    const kf = state.progress.keyframes[b];
    const ready = kf.variations.filter((v) => v.state === 'ready');
    kf.state = ready.length > 0 ? 'ready' : 'failed';
    if (kf.picked === undefined || kf.variations[kf.picked]?.state !== 'ready') kf.picked = ready[0]?.index;
    if (ready.length === 0) {
      const reason = kf.variations.at(-1)?.error ?? 'no variation could be made';
      throw failure(
        FailureType.GenerationFailed,
        `keyframe ${b}: no usable image (${reason}); regenerate it with another prompt or supply an image`
      );
    }
  }
}

function applyVariations(run: StoryRun, variations: Array<KeyframeVariation & { boundary: number }>): void {
  for (const { boundary, ...v } of variations) {
    const kf = run.state.progress.keyframes[boundary];
    if (kf?.variations[v.index]) Object.assign(kf.variations[v.index], v);
  }
}
