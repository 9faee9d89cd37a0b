import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { freePort } from '../../dev/temporal-server';
import { setFaults } from '../../emulator/admin';
import { killed, spawnWorker } from '../helpers/processes';
import { eventually, startTestStack, waitForStage, type TestStack } from '../helpers/stack';
import { smallStory } from '../helpers/stories';

// Metrics and tracing switched on by settings, in real worker processes: one with the Prometheus endpoint (and
// connecting through a TOML connection profile), one with tracing to the console exporter.

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');

/** One Prometheus sample: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus' text format (enough of it for these checks). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line.trim());
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of a metric's samples whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return parseMetrics(await res.text());
}

let stack: TestStack;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await startTestStack({ startWorkers: false });
  dir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-telemetry-'));
});
// Each test's worker is the only one polling while it runs.
afterEach(async () => {
  await Promise.all(children.splice(0).map(killed));
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a story with a keyframe review through to its end; the review is answered after `reviewAfterMs`. */
async function runStory(storyId: string, reviewAfterMs: number) {
  await stack.client.start(smallStory({ title: `Telemetry ${storyId}` }), { storyId });
  await waitForStage(stack, storyId, 'awaiting-keyframe-review');
  await new Promise((r) => setTimeout(r, reviewAfterMs));
  await stack.client.reviewKeyframes(storyId, { approve: true });
  return stack.client.result(storyId);
}

test("after a story, the workers' Prometheus endpoint and the server's /metrics show reelflow's metrics", async () => {
  const port = await freePort();
  // The worker finds Temporal through a connection profile rather than TEMPORAL_ADDRESS.
  const profiles = path.join(dir, 'temporal.toml');
  writeFileSync(profiles, `[profile.test]\naddress = "${stack.env.TEMPORAL_ADDRESS}"\nnamespace = "default"\n`);
  const worker = spawnWorker(stack, 'metrics', {
    TEMPORAL_ADDRESS: '',
    TEMPORAL_CONFIG_FILE: profiles,
    TEMPORAL_PROFILE: 'test',
    REELFLOW_METRICS_ADDRESS: `127.0.0.1:${port}`,
  });
  children.push(worker);

  const storyId = 'metrics-1';
  const startedAt = Date.now();
  await stack.client.start(smallStory({ title: 'Metrics' }), { storyId });
  await waitForStage(stack, storyId, 'awaiting-keyframe-review');
  // While it waits for its review, the server counts it in that stage.
  const api = `${stack.config.http.publicUrl}/metrics`;
  await eventually(
    async () =>
      total(await scrape(api), 'reelflow_stories', { stage: 'awaiting-keyframe-review' }) === 1 ? 1 : undefined,
    20_000,
    'the waiting story to be counted'
  );
  await new Promise((r) => setTimeout(r, 1500));
  // The first clip's generation fails at Luma: it is charged, then refunded, and the shot tries again.
  await setFaults(stack.emulator.origin, { failNext: 1 });
  await stack.client.reviewKeyframes(storyId, { approve: true });
  const result = await stack.client.result(storyId);
  expect(result.status).toBe('completed');
  const elapsedS = (Date.now() - startedAt) / 1000;

  const workerUrl = `http://127.0.0.1:${port}/metrics`;
  const samples = await eventually(
    async () => {
      const s = await scrape(workerUrl);
      return total(s, 'reelflow_stories_finished_total', { status: 'completed' }) === 1 ? s : undefined;
    },
    20_000,
    'the finished story to reach the worker metrics'
  );
  // Credits charged, net of refunds, are the story's credits, and the story's own histogram says the same.
  const refunded = total(samples, 'reelflow_credits_refunded_sum');
  expect(refunded).toBe(3); // one 5 s start+end-frame clip
  expect(total(samples, 'reelflow_credits_charged_sum') - refunded).toBeCloseTo(result.credits, 6);
  expect(total(samples, 'reelflow_story_credits_sum', { status: 'completed' })).toBeCloseTo(result.credits, 6);
  // One keyframe review, answered after at least the pause and within the story's life.
  expect(total(samples, 'reelflow_review_wait_seconds_count', { review: 'keyframes', outcome: 'answered' })).toBe(1);
  const waited = total(samples, 'reelflow_review_wait_seconds_sum', { review: 'keyframes' });
  expect(waited).toBeGreaterThanOrEqual(1.5);
  expect(waited).toBeLessThan(elapsedS);
  // The SDK's own metrics come from the same endpoint, tagged with the deployment.
  expect(total(samples, 'temporal_workflow_completed_total', { workflow_type: 'storyWorkflow' })).toBe(1);
  expect(total(samples, 'temporal_workflow_completed_total', { workflow_type: 'clipWorkflow' })).toBe(3); // 2 shots, one tried twice
  expect(samples.find((s) => s.name === 'temporal_workflow_completed_total')?.labels.deployment).toBe(
    stack.config.deployment.name
  );

  // The server's gauges: the story by stage, nothing in flight after it, and the caps the gate enforces.
  const server = await eventually(
    async () => {
      const s = await scrape(api);
      return total(s, 'reelflow_stories', { stage: 'completed' }) === 1 ? s : undefined;
    },
    20_000,
    'the completed story to be counted'
  );
  expect(total(server, 'reelflow_stories', { stage: 'awaiting-keyframe-review' })).toBe(0);
  expect(total(server, 'reelflow_generations_in_flight', { provider: 'luma', family: 'video' })).toBe(0);
  expect(total(server, 'reelflow_generations_in_flight_cap', { provider: 'luma', family: 'video' })).toBe(10);
  expect(total(server, 'reelflow_generations_in_flight_cap', { provider: 'luma', family: 'image' })).toBe(40);
  // fal's account has its own gate and caps, and makes no images.
  expect(total(server, 'reelflow_generations_in_flight_cap', { provider: 'fal', family: 'video' })).toBe(10);
  expect(
    server.some(
      (m) =>
        m.name === 'reelflow_generations_in_flight_cap' && m.labels.provider === 'fal' && m.labels.family === 'image'
    )
  ).toBe(false);
  expect(total(server, 'reelflow_generation_creates_per_minute_cap', { provider: 'luma', family: 'video' })).toBe(1000);
  // At most the story's three clip attempts can be inside the gate's 66 s rate window.
  const recent = total(server, 'reelflow_generation_creates_recent', { provider: 'luma', family: 'video' });
  expect(recent).toBeGreaterThanOrEqual(0);
  expect(recent).toBeLessThanOrEqual(3);

  // Every series the Grafana dashboard charts is one of these two endpoints' (names exactly as scraped).
  const dashboard = readFileSync(path.resolve(__dirname, '../../deploy/grafana/reelflow.json'), 'utf8');
  const charted = new Set(dashboard.match(/\b(?:reelflow|temporal)_[a-z_]+/g));
  const scraped = new Set([...samples, ...server].map((s) => s.name));
  expect([...charted].filter((name) => !scraped.has(name))).toEqual([]);
});

test('tracing switched on (console exporter) traces a story from the workflow to its activities and children', async () => {
  // Bundled at start, so the bundle carries the tracing interceptors.
  const worker = spawnWorker(stack, 'tracing', { REELFLOW_TRACING: 'console', REELFLOW_WORKFLOW_BUNDLE: '' });
  children.push(worker);
  const result = await runStory('traced-1', 0);
  expect(result.status).toBe('completed');

  const log = path.join(ARTIFACTS, 'worker-tracing.log');
  const spans = await eventually(
    async () => {
      const found = parseSpans(readFileSync(log, 'utf8'));
      return found.some((s) => s.name === 'RunActivity:renderStory') ? found : undefined;
    },
    20_000,
    'the spans of the story'
  );
  const story = spans.find((s) => s.name === 'RunWorkflow:storyWorkflow');
  expect(story).toBeDefined();
  const inTrace = spans.filter((s) => s.traceId === story!.traceId).map((s) => s.name);
  // The story's trace reaches its activities and its children's workflows and activities.
  expect(inTrace).toEqual(
    expect.arrayContaining([
      'RunActivity:renderStory',
      'RunWorkflow:clipWorkflow',
      'RunActivity:submitVideoGeneration',
      'RunWorkflow:keyframesWorkflow',
      // The gate activity's call to the gate (Update-with-Start) is in the story's trace too.
      'UpdateWithStartWorkflow:acquirePermit',
    ])
  );
  expect(spans.find((s) => s.name === 'RunActivity:renderStory')?.service).toBe('reelflow-worker');

  // Switching tracing off again is safe: what the traced worker recorded replays on the untraced bundle.
  const histories = [];
  for await (const wf of stack.temporal.workflow.list({ query: `TaskQueue = '${stack.config.queues.workflows}'` })) {
    histories.push({
      workflowId: wf.workflowId,
      history: await stack.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory(),
    });
  }
  expect(histories.map((h) => h.workflowId)).toEqual(expect.arrayContaining(['traced-1', 'traced-1-shot-1-attempt-1']));
  const failures: string[] = [];
  for await (const r of Worker.runReplayHistories(
    { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, replayName: 'untraced' },
    histories
  )) {
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
});

/** Spans as the console exporter prints them (util.inspect of each finished span). */
function parseSpans(text: string): Array<{ name: string; traceId: string; service?: string }> {
  const out: Array<{ name: string; traceId: string; service?: string }> = [];
  for (const block of text.split(/\n(?=\{\n\s+resource:)/)) {
    // The span's own fields are the ones indented by two spaces (the scope has a `name` too).
    const name = /\n {2}name: '([^']+)'/.exec(block)?.[1];
    const traceId = /\n {2}traceId: '([0-9a-f]+)'/.exec(block)?.[1];
    if (name && traceId) out.push({ name, traceId, service: /'service\.name': '([^']+)'/.exec(block)?.[1] });
  }
  return out;
}
