import { ContinueAsNew, patched, proxyActivities } from '@temporalio/workflow';
import type { MediaActivities } from '../../activities';
import { cancelledWorkflow } from '../cancelled';
import type { StoryWorkflowInput } from '../../common/messages';
import type { StoryResult } from '../../common/progress';
import { mediaOptions } from '../activity-options';
import { storyWorkflowV1 } from '../legacy/story-v1';
import type { StoryWorkflowInputV1 } from '../legacy/types-v1';
import { ensureBudget } from './budget';
import { closeCancelled, closeFailed, resultOf, settleUnsettled } from './closing';
import { checkSuppliedInputs, checksInputsFirst } from './inputs';
import { followKeyframeRounds, makeKeyframes } from './keyframes';
import { createNotifier } from './notifications';
import { awaitKeyframeApproval } from './review';
import { installReviewHandlers } from './review-rules';
import { setStage, startRun, type StoryRun } from './run';
import { line } from '../../common/summaries';
import { followClipAttempts } from './attempts';
import { approvedKeyframe, runShots } from './shots';

/** Marks stories that run this code; stories started before it replay (and finish) on legacy/story-v1. */
export const STORY_V2_PATCH = 'reelflow-v2';

/**
 * A story from boundary keyframes through human review and start/end-frame clips to one stitched MP4. Fails with an
 * ApplicationFailure whose details hold the result so far (every paid asset is listed there).
 */
export async function storyWorkflow(input: StoryWorkflowInput): Promise<StoryResult> {
  if (!patched(STORY_V2_PATCH)) return storyWorkflowV1(input as unknown as StoryWorkflowInputV1);
  const precheck = checksInputsFirst();
  const run = startRun(input);
  installReviewHandlers(run);
  followKeyframeRounds(run);
  followClipAttempts(run);
  const notifier = createNotifier(run);
  const media = proxyActivities<MediaActivities>(mediaOptions(run.queues));
  const { spec, state } = run;
  try {
    if (!input.resume) {
      // Supplied inputs are fetched and checked before the budget check and the first paid call.
      if (precheck) await checkSuppliedInputs(run);
      await ensureBudget(run, state.progress.cost.estimated.credits, 'the story (estimate)');
      await makeKeyframes(
        run,
        state.progress.keyframes.map((k) => k.boundary)
      );
    }
    if (spec.review.keyframes) await awaitKeyframeApproval(run, notifier, (b) => makeKeyframes(run, b));
    setStage(run, 'shots');
    const clips = await runShots(run, notifier);
    setStage(run, 'stitching');
    state.progress.output = await media.renderStory.executeWithOptions({ summary: stitchSummary(run) }, [
      {
        storyId: run.storyId,
        outputDir: `${run.assetBase}/output`,
        clips,
        crossfadeSeconds: spec.transition.crossfade,
        // The checked copy, when there is one: the supplied URL is not fetched a second time.
        audio: spec.audio && state.inputs?.audio ? { ...spec.audio, stored: state.inputs.audio } : spec.audio,
        keyframes: state.progress.keyframes.map((k) => ({
          ref: approvedKeyframe(run, k.boundary),
          label: boundaryLabel(k.boundary, spec.shots.length),
        })),
      },
    ]);
    // Only shots that fell back during an outage can leave keys unasked; stories without a fallback never do.
    await settleUnsettled(run);
    setStage(run, 'completed');
    notifier.notify('story.completed', { video: state.progress.output.video.url });
    await notifier.flushed();
    return resultOf(run);
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (cancelledWorkflow(err)) return closeCancelled(run, notifier, err);
    return closeFailed(run, notifier, err);
  }
}

/** The stitch activity's line in the Web UI. */
function stitchSummary(run: StoryRun): string {
  const { spec } = run;
  return line(`stitch ${spec.shots.length} clips`, `cross-fade ${spec.transition.crossfade} s`, spec.audio && 'audio');
}

/** Caption of a boundary in the storyboard. */
function boundaryLabel(b: number, shots: number): string {
  if (b === 0) return 'start of shot 1';
  if (b === shots) return `end of shot ${shots}`;
  return `shot ${b} → ${b + 1}`;
}
