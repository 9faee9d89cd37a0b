import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChaosContext } from './context';
import { figure, zero, type PartResult } from './report';

const RECORDED = path.resolve(__dirname, '../test/replay/histories');

interface NamedHistory {
  source: 'recorded' | 'this run';
  workflowId: string;
  type: string;
  history: temporal.api.history.v1.IHistory;
}

/** The histories kept in `test/replay/histories/<version>/`, named `<type>-<workflow id>.json`. */
function recordedHistories(): NamedHistory[] {
  return readdirSync(RECORDED).flatMap((version) =>
    readdirSync(path.join(RECORDED, version))
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({
        source: 'recorded' as const,
        type: f.split('-')[0],
        workflowId: f.replace(/^[A-Za-z]+Workflow-/, '').replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(readFileSync(path.join(RECORDED, version, f), 'utf8'))),
      }))
  );
}

/**
 * R6 replay: every recorded history plus the history of every workflow this run made (fetched from the dev server,
 * still-running ones as far as they got), replayed with `Worker.runReplayHistories` against the workflow bundle the
 * workers ran. Failed ones are saved under `<out>/replay-failures/`.
 */
export async function runReplay(ctx: ChaosContext): Promise<PartResult> {
  const started = Date.now();
  const histories = recordedHistories();
  const recorded = histories.length;
  const temporalClient = ctx.client.temporal;
  for await (const wf of temporalClient.workflow.list({
    query: `TaskQueue = '${ctx.stack.config.queues.workflows}'`,
  })) {
    const history = await temporalClient.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    histories.push({ source: 'this run', type: wf.type, workflowId: wf.workflowId, history });
  }
  const failures: Array<{ workflowId: string; source: string; error: string }> = [];
  const bundle = ctx.stack.env.REELFLOW_WORKFLOW_BUNDLE;
  let replayed = 0;
  // Replay in two batches so each result can be matched to its source (ids may repeat across the two).
  for (const source of ['recorded', 'this run'] as const) {
    const batch = histories.filter((h) => h.source === source);
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: bundle }, replayName: `chaos-${source}` },
      batch.map((h) => ({ workflowId: h.workflowId, history: h.history }))
    )) {
      replayed++;
      if (result.error) failures.push({ workflowId: result.workflowId, source, error: result.error.message });
    }
  }
  if (failures.length) {
    const dir = path.join(ctx.stack.dirs.out, 'replay-failures');
    mkdirSync(dir, { recursive: true });
    for (const f of failures) {
      const h = histories.find((x) => x.workflowId === f.workflowId && x.source === f.source);
      if (h) writeFileSync(path.join(dir, `${h.type}-${h.workflowId}.json`), historyToJSON(h.history));
    }
  }
  return {
    part: 'R6',
    title: `replay: ${recorded} recorded histories and ${histories.length - recorded} of this run`,
    seconds: (Date.now() - started) / 1000,
    figures: [
      figure('R6', 'histories replayed', String(replayed), `${histories.length} (all)`, replayed === histories.length),
      zero('R6', 'replay failures', failures.length),
    ],
    details: { recorded, thisRun: histories.length - recorded, failures },
  };
}
