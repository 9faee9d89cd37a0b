// A workflow bundle entry that breaks determinism on purpose: the real workflows, except that storyWorkflow now
// starts with a timer that no recorded story has. The promote command's replay gate must refuse it.
import { sleep } from '@temporalio/workflow';
import type { StoryWorkflowInput } from '../../common/messages';
import type { StoryResult } from '../../common/progress';
import { storyWorkflow as realStoryWorkflow } from '../../workflows/story';

export * from '../../workflows';

/** storyWorkflow with one command more at its start than the code that recorded the histories. */
export async function storyWorkflow(input: StoryWorkflowInput): Promise<StoryResult> {
  await sleep('1s');
  return realStoryWorkflow(input);
}
