import { patched, proxyActivities } from '@temporalio/workflow';
import type { MediaActivities } from '../../activities';
import { suppliedInputs } from '../../common/story';
import { mediaOptions } from '../activity-options';
import type { StoryRun } from './run';

/** Marks stories that check their supplied inputs before anything is paid; older ones replay without the check. */
export const INPUT_PRECHECK_PATCH = 'reelflow-input-precheck';

/** Whether this run checks its supplied inputs first. Call once, before the story's first command. */
export function checksInputsFirst(): boolean {
  return patched(INPUT_PRECHECK_PATCH);
}

/**
 * Fetches and checks every supplied keyframe and the audio track (one media activity) before the budget check and the
 * first paid call, and keeps the checked copies: a bad input fails the story naming the field, with nothing spent.
 */
export async function checkSuppliedInputs(run: StoryRun): Promise<void> {
  const inputs = suppliedInputs(run.spec);
  if (inputs.length === 0) return;
  const media = proxyActivities<MediaActivities>(mediaOptions(run.queues));
  run.state.inputs = await media.checkSuppliedInputs({
    storyId: run.storyId,
    assetBase: run.assetBase,
    inputs,
    width: run.frame.width,
    height: run.frame.height,
  });
}
