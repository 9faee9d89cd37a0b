import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ReelflowConfig } from '../../config';
import type { DeploymentVersion } from '../deployment';
import { runReplayGate, type ReplayGateReport } from './replay-gate';
import type { WorkflowBundleOption } from '@temporalio/worker';

// The operator's side of Worker Deployment Versioning: what runs where, promoting a version after the replay gate,
// draining and retiring the old one. Thin over Temporal's Worker Deployment API.

const { WorkerDeploymentVersionStatus: Status, VersionDrainageStatus: Drainage, TaskQueueType } = temporal.api.enums.v1;

/** A version of the deployment as the operator sees it. */
export interface VersionState {
  buildId: string;
  /** inactive (never current), current, ramping, draining (open pinned workflows left), drained. */
  status: 'inactive' | 'current' | 'ramping' | 'draining' | 'drained' | 'unknown';
  /** Open workflows pinned to this version (stories mid-review, their shots). */
  pinned: Array<{ workflowId: string; type: string }>;
}

/** The deployment: which version new stories go to, and every version the server knows. */
export interface DeploymentState {
  deploymentName: string;
  current?: string;
  ramping?: { buildId: string; percentage: number };
  versions: VersionState[];
}

/** A promotion the gate refused; `report` lists what failed to replay. */
export class PromotionRefused extends Error {
  override readonly name = 'PromotionRefused';
  constructor(
    message: string,
    readonly report?: ReplayGateReport
  ) {
    super(message);
  }
}

function statusName(status: number | null | undefined, drainage: number | null | undefined): VersionState['status'] {
  if (status === Status.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT) return 'current';
  if (status === Status.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING) return 'ramping';
  if (status === Status.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE) return 'inactive';
  if (drainage === Drainage.VERSION_DRAINAGE_STATUS_DRAINED) return 'drained';
  if (drainage === Drainage.VERSION_DRAINAGE_STATUS_DRAINING) return 'draining';
  return status === Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED ? 'drained' : 'draining';
}

/** Open workflows pinned to a version, found through the system search attributes Temporal keeps. */
export async function pinnedWorkflows(
  client: Client,
  v: DeploymentVersion,
  limit = 1000
): Promise<VersionState['pinned']> {
  const query =
    `TemporalWorkerDeploymentVersion = '${v.deploymentName}:${v.buildId}' AND ` +
    `TemporalWorkflowVersioningBehavior = 'Pinned' AND ExecutionStatus = 'Running'`;
  const out: VersionState['pinned'] = [];
  for await (const wf of client.workflow.list({ query })) {
    out.push({ workflowId: wf.workflowId, type: wf.type });
    if (out.length >= limit) break;
  }
  return out;
}

/** The deployment's routing and versions; undefined when no worker of it has polled yet. */
export async function deploymentState(client: Client, config: ReelflowConfig): Promise<DeploymentState | undefined> {
  const deploymentName = config.deployment.name;
  let info;
  try {
    info = (
      await client.workflowService.describeWorkerDeployment({ namespace: config.temporal.namespace, deploymentName })
    ).workerDeploymentInfo;
  } catch (err) {
    if ((err as { code?: number }).code === 5 /* NOT_FOUND */) return undefined;
    throw err;
  }
  const routing = info?.routingConfig;
  const versions: VersionState[] = [];
  for (const v of info?.versionSummaries ?? []) {
    const buildId = v.deploymentVersion?.buildId ?? '';
    versions.push({
      buildId,
      status: statusName(v.status, v.drainageStatus),
      pinned: await pinnedWorkflows(client, { deploymentName, buildId }),
    });
  }
  return {
    deploymentName,
    current: routing?.currentDeploymentVersion?.buildId || undefined,
    ramping: routing?.rampingDeploymentVersion?.buildId
      ? { buildId: routing.rampingDeploymentVersion.buildId, percentage: routing.rampingVersionPercentage ?? 0 }
      : undefined,
    versions,
  };
}

/** The task queues a version's workers poll (`workflows:workflow`, `media:activity`, …). */
async function polledQueues(client: Client, namespace: string, v: DeploymentVersion): Promise<Set<string>> {
  try {
    const res = await client.workflowService.describeWorkerDeploymentVersion({ namespace, deploymentVersion: v });
    return new Set(
      (res.workerDeploymentVersionInfo?.taskQueueInfos ?? []).map(
        (q) => `${q.name}:${q.type === TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW ? 'workflow' : 'activity'}`
      )
    );
  } catch (err) {
    if ((err as { code?: number }).code === 5 /* NOT_FOUND */) return new Set();
    throw err;
  }
}

/**
 * Waits until the version's workers poll every queue of the deployment (workflows, io, poll, media), so a promoted
 * version can take every kind of task; fails after `timeoutMs`, naming what is missing.
 */
export async function waitForWorkers(
  client: Client,
  config: ReelflowConfig,
  v: DeploymentVersion,
  timeoutMs: number
): Promise<void> {
  const q = config.queues;
  const needed = [`${q.workflows}:workflow`, `${q.io}:activity`, `${q.poll}:activity`, `${q.media}:activity`];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const polled = await polledQueues(client, config.temporal.namespace, v);
    const missing = needed.filter((n) => !polled.has(n));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new PromotionRefused(
        `version ${v.buildId} of ${v.deploymentName} has no workers polling ${missing.join(', ')}: ` +
          'start its workers (every role) first'
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Makes `v` the version new stories start on (or, with `rampPercent`, the one that share of them start on). */
export async function setCurrentVersion(
  client: Client,
  config: ReelflowConfig,
  v: DeploymentVersion,
  rampPercent?: number
): Promise<void> {
  const common = { namespace: config.temporal.namespace, deploymentName: v.deploymentName, buildId: v.buildId };
  const identity = `reelflow deploy@${process.pid}`;
  // The server refuses a version that does not poll every queue the current one did; a moment after start its
  // workers may not have reached every queue's partition yet, so a refusal is retried for a little while.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if (rampPercent !== undefined && rampPercent < 100) {
        await client.workflowService.setWorkerDeploymentRampingVersion({
          ...common,
          percentage: rampPercent,
          identity,
        });
      } else {
        await client.workflowService.setWorkerDeploymentCurrentVersion({ ...common, identity });
      }
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 9 /* FAILED_PRECONDITION */ || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Promotes `v`: waits for its workers on every queue, replays recorded and recent cluster histories against
 * `bundle` (its code), and only when all replay makes it current (or ramping). Throws {@link PromotionRefused}.
 */
export async function promote(options: {
  client: Client;
  config: ReelflowConfig;
  version: DeploymentVersion;
  bundle: WorkflowBundleOption;
  recordedDir?: string;
  rampPercent?: number;
  waitForWorkersMs?: number;
}): Promise<ReplayGateReport> {
  const { client, config, version } = options;
  await waitForWorkers(client, config, version, options.waitForWorkersMs ?? 120_000);
  const report = await runReplayGate({ client, config, bundle: options.bundle, recordedDir: options.recordedDir });
  if (report.failures.length > 0) {
    throw new PromotionRefused(
      `version ${version.buildId} not promoted: ${report.failures.length} of ${report.replayed} histories do not ` +
        `replay on its code (first: ${report.failures[0].workflowId}: ${report.failures[0].error.split('\n')[0]})`,
      report
    );
  }
  await setCurrentVersion(client, config, version, options.rampPercent);
  return report;
}

/**
 * Deletes a drained version from the deployment once its workers are stopped. Refuses while it is current or
 * ramping or still has open pinned workflows; the server refuses while its workers still poll.
 */
export async function retireVersion(client: Client, config: ReelflowConfig, v: DeploymentVersion): Promise<void> {
  const state = await deploymentState(client, config);
  const version = state?.versions.find((x) => x.buildId === v.buildId);
  if (!version) throw new PromotionRefused(`${v.deploymentName} has no version ${v.buildId}`);
  if (version.status === 'current' || version.status === 'ramping') {
    throw new PromotionRefused(`version ${v.buildId} is ${version.status}: promote another version first`);
  }
  const pinned = await pinnedWorkflows(client, v);
  if (pinned.length > 0) {
    throw new PromotionRefused(
      `version ${v.buildId} still runs ${pinned.length} pinned workflows (${pinned
        .slice(0, 5)
        .map((p) => p.workflowId)
        .join(', ')}…): wait for them, or move them with \`temporal workflow update-options\``
    );
  }
  await client.workflowService.deleteWorkerDeploymentVersion({
    namespace: config.temporal.namespace,
    deploymentVersion: v,
    identity: `reelflow deploy@${process.pid}`,
  });
}
