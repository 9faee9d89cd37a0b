import type { Client, HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ReelflowConfig } from '../../config';

/** Recorded histories shipped with the code (`test/replay/histories/<version>/<type>-<workflow id>.json`). */
export const RECORDED_HISTORIES = path.resolve(__dirname, '../../test/replay/histories');

/** Workflow types whose recent closed runs the gate also replays (every type the bundle registers). */
const WORKFLOW_TYPES = [
  'storyWorkflow',
  'keyframesWorkflow',
  'clipWorkflow',
  'generationGateWorkflow',
  'webhookOutboxWorkflow',
  'shotWorkflow',
  'lumaGateWorkflow',
];

type SourcedHistory = HistoryAndWorkflowId & { source: string };

/** What the replay gate replayed and what failed. */
export interface ReplayGateReport {
  replayed: number;
  /** From the recorded files / from the cluster (open runs, recent closed runs). */
  sources: { recorded: number; open: number; closed: number };
  failures: Array<{ workflowId: string; source: string; error: string }>;
}

/** The bundle a worker of this config would run: the prebuilt one, or `workflows/` bundled now. */
export async function workflowBundleOf(config: ReelflowConfig, explicit?: string): Promise<WorkflowBundleOption> {
  const codePath = explicit ?? config.worker.workflowBundle;
  if (codePath) return { codePath: path.resolve(codePath) };
  const quiet = () => undefined;
  const logger = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error, log: quiet };
  return { code: (await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger })).code };
}

/** Every recorded history under `dir` (files named `<type>-<workflow id>.json`). */
function recordedHistories(dir: string): SourcedHistory[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.json')) files.push(full);
    }
  };
  walk(dir);
  return files.map((full) => ({
    workflowId: path
      .basename(full)
      .replace(/^[A-Za-z0-9]+Workflow-/, '')
      .replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(full, 'utf8'))),
    source: `recorded ${path.relative(dir, full)}`,
  }));
}

/**
 * Histories from the cluster: every open run on the deployment's workflow queue (they, or their auto-upgrading
 * kind, will meet the new code) and the latest closed runs of each type (the paths recent stories took).
 */
async function clusterHistories(
  client: Client,
  config: ReelflowConfig,
  limits: { open: number; closedPerType: number }
): Promise<{ open: SourcedHistory[]; closed: SourcedHistory[] }> {
  const queue = config.queues.workflows;
  const fetch = async (query: string, max: number, source: string) => {
    const out: SourcedHistory[] = [];
    for await (const wf of client.workflow.list({ query })) {
      if (out.length >= max) break;
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      out.push({ workflowId: wf.workflowId, history, source: `${source} ${wf.type} ${wf.runId}` });
    }
    return out;
  };
  const open = await fetch(`TaskQueue = '${queue}' AND ExecutionStatus = 'Running'`, limits.open, 'open');
  const closed: SourcedHistory[] = [];
  for (const type of WORKFLOW_TYPES) {
    const query = `TaskQueue = '${queue}' AND WorkflowType = '${type}' AND ExecutionStatus != 'Running'`;
    closed.push(...(await fetch(query, limits.closedPerType, 'closed')));
  }
  return { open, closed };
}

/**
 * The gate before a version is promoted: replays recorded histories and histories fetched from the cluster against
 * `bundle`; any non-determinism (or any other replay error) is a failure.
 */
export async function runReplayGate(options: {
  client: Client;
  config: ReelflowConfig;
  bundle: WorkflowBundleOption;
  recordedDir?: string;
  openLimit?: number;
  closedPerType?: number;
}): Promise<ReplayGateReport> {
  const recorded = recordedHistories(options.recordedDir ?? RECORDED_HISTORIES);
  const { open, closed } = await clusterHistories(options.client, options.config, {
    open: options.openLimit ?? 500,
    closedPerType: options.closedPerType ?? 20,
  });
  const all = [...recorded, ...open, ...closed];
  // Sources by workflow id, in replay order (one id may appear as a recorded file and as a cluster run).
  const sources = new Map<string, string[]>();
  for (const h of all) sources.set(h.workflowId, [...(sources.get(h.workflowId) ?? []), h.source]);
  const report: ReplayGateReport = {
    replayed: 0,
    sources: { recorded: recorded.length, open: open.length, closed: closed.length },
    failures: [],
  };
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: options.bundle, replayName: 'promote-gate' },
    all.map(({ workflowId, history }) => ({ workflowId, history }))
  )) {
    const source = sources.get(result.workflowId)?.shift() ?? 'unknown';
    report.replayed++;
    if (result.error) report.failures.push({ workflowId: result.workflowId, source, error: result.error.message });
  }
  return report;
}
