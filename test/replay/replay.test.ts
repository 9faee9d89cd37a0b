import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { quietRuntime } from '../helpers/stack';

const dir = path.join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('recorded histories exist for the story, shot and gate workflows', () => {
  for (const type of ['storyWorkflow', 'shotWorkflow', 'lumaGateWorkflow'])
    expect(files.some((f) => f.startsWith(`${type}-`))).toBe(true);
});

test('every recorded history replays against the current workflow code without non-determinism', async () => {
  quietRuntime();
  const histories = files.map((f) => ({
    // Files are named <workflow type>-<workflow id>.json; the workflow sees its real id again on replay.
    workflowId: f.replace(/^[A-Za-z]+Workflow-/, '').replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))),
  }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, replayName: 'recorded' },
    histories
  )) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
});
