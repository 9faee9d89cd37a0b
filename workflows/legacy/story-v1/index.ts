// Frozen: the story workflow as it ran before the `reelflow-v2` patch. It runs only for stories whose history has
// no v2 marker (started before the upgrade), so their replay and completion stay exact. Do not change what it does;
// delete legacy/ once no such story runs (README: Decisions).
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  isCancellation,
  log,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../../../common/constants';
import { resultFromProgress, type StoryResult } from '../../../common/progress';
import type { StoryWorkflowInputV1 } from '../types-v1';
import { makeKeyframes } from './keyframes';
import { awaitKeyframeApprovalV1, installHandlersV1 } from './review';
import { ensureBudget, notify, setStage, startV1 } from './run';
import { approvedKeyframeV1, runShotsV1 } from './shots';

/**
 * A v1 story from boundary keyframes through human review and start/end-frame clips to one stitched MP4.
 * Fails with an ApplicationFailure whose details hold the result so far (every paid asset is listed there).
 */
export async function storyWorkflowV1(input: StoryWorkflowInputV1): Promise<StoryResult> {
  const r = startV1(input);
  const { spec, state, storyId } = r;
  installHandlersV1(r);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.stage, value: state.stage },
    { key: SEARCH_ATTRIBUTES.shotCount, value: spec.shots.length },
    { key: SEARCH_ATTRIBUTES.creditsUsed, value: 0 },
  ]);
  try {
    await ensureBudget(r, state.cost.estimated.credits, 'the story (estimate)');
    await makeKeyframes(
      r,
      state.keyframes.map((k) => k.boundary)
    );
    if (spec.review.keyframes) await awaitKeyframeApprovalV1(r);
    setStage(r, 'shots');
    const clips = await runShotsV1(r);
    setStage(r, 'stitching');
    state.output = await r.media.renderStory({
      storyId,
      clips: clips.map((c) => c.path!),
      crossfadeSeconds: spec.transition.crossfade,
      audio: spec.audio,
      keyframes: state.keyframes.map((k) => ({
        path: approvedKeyframeV1(r, k.boundary).path!,
        label: boundaryLabel(k.boundary, spec.shots.length),
      })),
    });
    setStage(r, 'completed');
    notify(r, 'story.completed', { video: state.output.video.url });
    await r.deliveries;
    return resultFromProgress(state);
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        await Promise.all([...r.inFlight].map((generationId) => r.luma.deleteGeneration({ generationId })));
        for (const s of state.shots) if (s.state !== 'done') s.state = 'cancelled';
        setStage(r, 'cancelled');
        notify(r, 'story.cancelled');
        await r.deliveries;
      });
      throw err;
    }
    state.error = describeFailure(err);
    setStage(r, 'failed');
    log.warn('story failed', { storyId, error: state.error });
    notify(r, 'story.failed', { error: state.error });
    await CancellationScope.nonCancellable(() => r.deliveries);
    throw ApplicationFailure.create({
      type: failureType(err),
      message: state.error,
      nonRetryable: true,
      details: [resultFromProgress(state)],
    });
  }
}

/** Caption of a boundary in the storyboard. */
function boundaryLabel(b: number, shots: number): string {
  if (b === 0) return 'start of shot 1';
  if (b === shots) return `end of shot ${shots}`;
  return `shot ${b} → ${b + 1}`;
}

/** The innermost failure message: the real reason behind activity and child workflow wrappers. */
function describeFailure(err: unknown): string {
  let current: unknown = err;
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) {
    if (!current.cause) break;
    current = current.cause;
  }
  return current instanceof Error ? current.message : String(current);
}

function failureType(err: unknown): string {
  let current: unknown = err;
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) current = current.cause;
  return current instanceof ApplicationFailure && current.type ? current.type : 'StoryFailed';
}
