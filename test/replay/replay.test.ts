import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { quietRuntime } from '../helpers/stack';

// Recorded histories, by the code version that made them: v1 (before the `reelflow-v2` patch, replayed through
// workflows/legacy/) and v2. A change that breaks a running story fails here.
const root = path.join(__dirname, 'histories');
const files = readdirSync(root).flatMap((version) =>
  readdirSync(path.join(root, version))
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ version, file: f, full: path.join(root, version, f) }))
);

test('recorded histories exist for every workflow type of both versions', () => {
  const types = (version: string) =>
    new Set(files.filter((f) => f.version === version).map((f) => f.file.split('-')[0]));
  expect([...types('v1')].sort()).toEqual(['lumaGateWorkflow', 'shotWorkflow', 'storyWorkflow']);
  expect([...types('v2')].sort()).toEqual([
    'clipWorkflow',
    'generationGateWorkflow',
    'keyframesWorkflow',
    'storyWorkflow',
    'webhookOutboxWorkflow',
  ]);
});

test('every recorded history replays against the current workflow code without non-determinism', async () => {
  quietRuntime();
  const histories = files.map(({ file, full }) => ({
    // Files are named <workflow type>-<workflow id>.json; the workflow sees its real id again on replay.
    workflowId: file.replace(/^[A-Za-z]+Workflow-/, '').replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(full, 'utf8'))),
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
