import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { quietRuntime } from '../helpers/stack';

// Switching REELFLOW_TRACING on while stories run: a traced worker bundles reelflow's OpenTelemetry workflow
// interceptors (workflows/tracing.ts), which add headers to commands but must not add or reorder any. Every recorded
// history must still replay on that bundle. (The stock interceptors fail here, on the gate's Updates.)

const root = path.join(__dirname, 'histories');

test('every recorded history replays on a bundle with the tracing interceptors', async () => {
  quietRuntime();
  const quiet = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: [require.resolve('../../workflows/tracing')],
    logger: { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error, log: quiet },
  });
  expect(code).toContain('OpenTelemetryInboundInterceptor');
  const histories = readdirSync(root).flatMap((version) =>
    readdirSync(path.join(root, version))
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({
        workflowId: f.replace(/^[A-Za-z]+Workflow-/, '').replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(readFileSync(path.join(root, version, f), 'utf8'))),
      }))
  );
  const failures: string[] = [];
  let replayed = 0;
  // The workflow spans go to a sink the replay worker does not have: replay suppresses sink calls anyway.
  for await (const result of Worker.runReplayHistories({ workflowBundle: { code }, replayName: 'traced' }, histories)) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(histories.length);
});
