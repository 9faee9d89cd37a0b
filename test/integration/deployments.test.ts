import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { loadConfig, type ReelflowConfig } from '../../config';
import { createWorkers } from '../../workers/create-workers';
import { deploymentVersion, type DeploymentVersion } from '../../workers/deployment';
import {
  deploymentState,
  pinnedWorkflows,
  promote,
  PromotionRefused,
  retireVersion,
} from '../../workers/deploy/versions';
import { eventually, startTestStack, waitForStage, type TestStack } from '../helpers/stack';
import { smallStory } from '../helpers/stories';

// Worker Deployment Versioning on the dev server: two versions of one deployment (same code, two build ids), a story
// pinned to the version it started on while new stories go to the promoted one, the gate following the current
// version, and the promote command's replay gate refusing a bundle that breaks determinism.

const { VersioningBehavior } = temporal.api.enums.v1;
const COMMIT_1 = 'aaaaaaaaaaaa0000000000000000000000000001';
const COMMIT_2 = 'bbbbbbbbbbbb0000000000000000000000000002';
const bundle = { codePath: process.env.TEST_WORKFLOW_BUNDLE! };

let stack: TestStack;
let configV2: ReelflowConfig;
let v1: DeploymentVersion;
let v2: DeploymentVersion;
let v2Connection: NativeConnection;
let v2Workers: Worker[] = [];
let v2Running: Promise<unknown> | undefined;

beforeAll(async () => {
  stack = await startTestStack({
    startWorkers: false,
    env: {
      REELFLOW_WORKER_VERSIONING: 'true',
      REELFLOW_GIT_COMMIT: COMMIT_1,
      // Polls a production-like interval apart, not the test stacks' 100 ms: a clip's polling window, left behind
      // once Luma's callback settled the clip, then ends seconds later instead of during the clip's next workflow
      // task. An activity finishing during a task makes the server hand the next task back inline, and with SDK 1.24
      // on the dev server that task can come without its deployment version, which turns a pinned run into an
      // auto-upgrading one (README, "Known limits").
      LUMA_POLL_INTERVAL_MS: '5000',
    },
  });
  configV2 = loadConfig({ ...stack.env, REELFLOW_GIT_COMMIT: COMMIT_2 });
  v1 = deploymentVersion(stack.config);
  v2 = deploymentVersion(configV2);
});
afterAll(async () => {
  for (const w of v2Workers) if (w.getState() === 'RUNNING') w.shutdown();
  await v2Running;
  await v2Connection?.close();
  await stack?.close();
});

/** The deployment version a workflow runs on, and how it moves. */
async function versioningOf(client: Client, workflowId: string) {
  const info = (await client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.versioningInfo;
  return { buildId: info?.deploymentVersion?.buildId, behavior: info?.behavior };
}

/** Build ids of every workflow task a run completed. */
async function taskBuildIds(client: Client, workflowId: string): Promise<Set<string>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return new Set(
    (history.events ?? [])
      .map((e) => e.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId)
      .filter((b): b is string => !!b)
  );
}

test('the build id comes from the package version and the commit', () => {
  expect(v1).toEqual({ deploymentName: stack.config.queues.prefix, buildId: '0.1.0-aaaaaaaaaaaa' });
  expect(v2.buildId).toBe('0.1.0-bbbbbbbbbbbb');
});

test('a story stays pinned to v1 while stories started after v2 is promoted run on v2', async () => {
  await stack.startWorkers();
  const first = await promote({ client: stack.temporal, config: stack.config, version: v1, bundle });
  expect(first.failures).toEqual([]);
  expect(first.sources.recorded).toBeGreaterThan(40);
  expect((await deploymentState(stack.temporal, stack.config))?.current).toBe(v1.buildId);

  // Story A starts on v1 and waits for its keyframe review (in production: days).
  await stack.client.start(smallStory({ title: 'Pinned to v1' }), { storyId: 'deploy-a' });
  const atReviewA = await waitForStage(stack, 'deploy-a', 'awaiting-keyframe-review');
  expect(await versioningOf(stack.temporal, 'deploy-a')).toEqual({
    buildId: v1.buildId,
    behavior: VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
  });

  // v2's workers start beside v1's; the gate replays A's history so far (and the recorded ones) on v2's code.
  v2Connection = await NativeConnection.connect({ address: stack.env.TEMPORAL_ADDRESS });
  v2Workers = await createWorkers({
    config: configV2,
    connection: v2Connection,
    client: stack.temporal,
    workflows: { workflowBundle: bundle },
  });
  v2Running = Promise.all(v2Workers.map((w) => w.run()));
  const second = await promote({ client: stack.temporal, config: configV2, version: v2, bundle });
  expect(second.failures).toEqual([]);
  expect(second.sources.open).toBeGreaterThanOrEqual(1);
  const state = await deploymentState(stack.temporal, stack.config);
  expect(state?.current).toBe(v2.buildId);
  expect(state?.versions.find((v) => v.buildId === v1.buildId)?.pinned.map((p) => p.workflowId)).toContain('deploy-a');

  // Story B starts after the promotion: v2.
  await stack.client.start(smallStory({ title: 'Started on v2' }), { storyId: 'deploy-b' });
  const atReviewB = await waitForStage(stack, 'deploy-b', 'awaiting-keyframe-review');
  expect((await versioningOf(stack.temporal, 'deploy-b')).buildId).toBe(v2.buildId);

  // Both are approved and finish, each on its own version, shots included.
  for (const [id, p] of [
    ['deploy-a', atReviewA],
    ['deploy-b', atReviewB],
  ] as const) {
    await stack.client.reviewKeyframes(id, {
      picks: p.keyframes.map((k) => ({ boundary: k.boundary, variation: 0 })),
      approve: true,
    });
  }
  const [resultA, resultB] = await Promise.all([stack.client.result('deploy-a'), stack.client.result('deploy-b')]);
  expect([resultA.status, resultB.status]).toEqual(['completed', 'completed']);
  expect(await versioningOf(stack.temporal, 'deploy-a')).toMatchObject({ buildId: v1.buildId });
  expect([...(await taskBuildIds(stack.temporal, 'deploy-a'))]).toEqual([v1.buildId]);
  expect([...(await taskBuildIds(stack.temporal, 'deploy-b'))]).toEqual([v2.buildId]);
  for (const shot of [1, 2]) {
    expect((await versioningOf(stack.temporal, `deploy-a-shot-${shot}-attempt-1`)).buildId).toBe(v1.buildId);
    expect((await versioningOf(stack.temporal, `deploy-b-shot-${shot}-attempt-1`)).buildId).toBe(v2.buildId);
  }

  // The gate outlives stories: it follows the current version instead of keeping v1 alive.
  const gateId = `${stack.config.queues.prefix}-gate-luma`;
  expect(await versioningOf(stack.temporal, gateId)).toEqual({
    buildId: v2.buildId,
    behavior: VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE,
  });

  // With A done, nothing is pinned to v1 any more: it can be drained and retired; the current one cannot.
  await eventually(
    async () => ((await pinnedWorkflows(stack.temporal, v1)).length === 0 ? true : undefined),
    30_000,
    'v1 to drain'
  );
  await expect(retireVersion(stack.temporal, stack.config, v2)).rejects.toThrow(/is current/);
});

test('the replay gate refuses a bundle that breaks determinism, and the current version stays', async () => {
  const broken = await bundleWorkflowCode({
    workflowsPath: require.resolve('../helpers/nondeterministic-workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const refused = await promote({
    client: stack.temporal,
    config: stack.config,
    version: v1,
    bundle: { code: broken.code },
  }).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(PromotionRefused);
  const report = (refused as PromotionRefused).report!;
  const failed = report.failures.map((f) => f.workflowId);
  // This cluster's stories and the recorded ones fail; nothing else does.
  expect(failed).toEqual(expect.arrayContaining(['deploy-a', 'deploy-b', 'parallel-1']));
  expect(report.failures.every((f) => /nondetermin/i.test(f.error))).toBe(true);
  expect(report.failures.some((f) => f.workflowId.includes('-shot-'))).toBe(false);
  expect((await deploymentState(stack.temporal, stack.config))?.current).toBe(v2.buildId);
});
