import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { IoActivities, MediaActivities, PollActivities } from '../../activities';
import { FailureType } from '../../common/failures';
import type { PollResult } from '../../common/generations';
import type { StoryWorkflowInput } from '../../common/messages';
import { DEFAULT_PRICES } from '../../common/pricing';
import type { StoryResult } from '../../common/progress';
import { parseStory, type StorySpecInput } from '../../common/story';
import type { TaskQueues } from '../../common/task-queues';
import { quietRuntime } from '../helpers/stack';
import { startTimeSkipping } from '../helpers/time-skipping';
import { ensureSearchAttributes } from '../../workers/search-attributes';

// Workflow logic on the time-skipping test server with typed fake activities: no provider, no ffmpeg, no files.
// Days of review timeouts and minutes of retry backoff pass in milliseconds. The fakes record every call, and each
// generation's fate is chosen by the test through `fate`.

/** What a fake generation does: complete (default), or fail with a reason. */
export type Fate = { state: 'completed' } | { state: 'failed'; reason: string };

/** Every call the workflows made, in order. */
export interface Calls {
  submits: Array<{
    key: string;
    kind: 'image' | 'video';
    prompt: string;
    model?: string;
    frame0Url?: string;
    frame1Url?: string;
  }>;
  cuts: string[];
  renders: number;
  deletes: string[];
  sweeps: string[];
  /** Every sweep's input, in order. */
  sweepInputs: Array<{ keyPrefix: string; targets?: Array<{ provider: string; models?: string[] }> }>;
  /** The gate each permit request went to, in order. */
  gates: string[];
  /** Every activity, by name, in the order they were called. */
  order: string[];
  /** Supplied inputs checked (their fields), and supplied keyframes ingested by a keyframe round. */
  checked: string[];
  ingestedSupplied: number;
  /** The audio source each render was given. */
  renderAudio: Array<string | undefined>;
}

/** A fake deployment: one task queue for workflows and every activity. */
export interface FakeWorld {
  env: TestWorkflowEnvironment;
  calls: Calls;
  /** Decides a generation's fate from its key (default: completed). */
  fate: (key: string) => Fate;
  /** A failure a clip create meets instead of a generation (a provider down), by model (default: none). */
  outage: (model: string) => Error | undefined;
  /** Runs `story` as `storyId`: first `during` (to query and review), then to its end with time skipped. */
  run(
    story: StorySpecInput,
    storyId: string,
    during?: (handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>) => Promise<void>
  ): Promise<StoryResult | Error>;
  close(): Promise<void>;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Starts the time-skipping server and a worker with fake activities. */
export async function startFakeWorld(): Promise<FakeWorld> {
  quietRuntime();
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const env = await startTimeSkipping();
  await ensureSearchAttributes(env.client, 'default');
  const queue = `fake-${randomUUID().slice(0, 8)}`;
  const queues: TaskQueues = { prefix: queue, workflows: queue, io: queue, poll: queue, media: queue };
  const calls: Calls = {
    submits: [],
    cuts: [],
    renders: 0,
    deletes: [],
    sweeps: [],
    sweepInputs: [],
    gates: [],
    order: [],
    checked: [],
    ingestedSupplied: 0,
    renderAudio: [],
  };
  const world = {
    fate: (() => ({ state: 'completed' })) as FakeWorld['fate'],
    outage: (() => undefined) as FakeWorld['outage'],
  };
  const byId = new Map<string, string>();

  const submitted = (key: string, kind: 'image' | 'video', rest: Omit<Calls['submits'][number], 'key' | 'kind'>) => {
    calls.submits.push({ key, kind, ...rest });
    const generationId = `g-${calls.submits.length}`;
    byId.set(generationId, key);
    return { generationId, reused: false, duplicates: [] };
  };
  const fakes: IoActivities & PollActivities & MediaActivities = {
    async checkSuppliedInputs({ storyId, assetBase, inputs }) {
      calls.checked.push(...inputs.map((i) => i.field));
      // A reference with "bad" in it stands for an input the real check refuses.
      const refused = inputs.filter((i) => i.ref.includes('bad'));
      if (refused.length) {
        throw ApplicationFailure.create({
          type: FailureType.BadInput,
          nonRetryable: true,
          message: `invalid story: ${refused.map((i) => `${i.field}: refused`).join('; ')}`,
        });
      }
      const ref = (n: string) => ({ path: `/assets/${storyId}/${assetBase}/${n}`, url: `https://us.test/${n}` });
      return {
        keyframes: inputs
          .filter((i) => i.kind === 'image')
          .map((i) => ({ boundary: i.boundary!, ...ref(`keyframes/b${i.boundary}-supplied.png`) })),
        audio: inputs.some((i) => i.kind === 'audio') ? ref('input/audio.mp3') : undefined,
      };
    },
    async submitImageGeneration(input) {
      return submitted(input.key, 'image', { prompt: input.prompt });
    },
    async submitVideoGeneration(input) {
      const down = world.outage(input.model);
      if (down) throw down;
      return submitted(input.key, 'video', {
        prompt: input.prompt,
        model: input.model,
        frame0Url: input.frame0Url,
        frame1Url: input.frame1Url,
      });
    },
    async pollGeneration({ generationId }): Promise<PollResult> {
      const fate = world.fate(byId.get(generationId) ?? '');
      return fate.state === 'completed'
        ? { generationId, state: 'completed', assetUrl: `https://provider.test/${generationId}` }
        : { generationId, state: 'failed', failureReason: fate.reason };
    },
    async deleteGeneration({ generationId }) {
      calls.deletes.push(generationId);
    },
    async sweepGenerations({ keyPrefix, targets }) {
      calls.sweeps.push(keyPrefix);
      calls.sweepInputs.push({ keyPrefix, targets });
      return [];
    },
    async acquireGenerationSlot({ gateWorkflowId, request }) {
      calls.gates.push(gateWorkflowId);
      return { state: 'granted', slots: request.slots };
    },
    async releaseGenerationSlot() {
      return { released: true };
    },
    async findClosedRuns() {
      return [];
    },
    async notifyWebhooks() {
      return { delivered: 0 };
    },
    async ingestKeyframe({ storyId, name, source }) {
      if ('supplied' in source) calls.ingestedSupplied++;
      return { path: `/assets/${storyId}/${name}`, url: `https://us.test/${storyId}/${name}` };
    },
    async ingestClip({ storyId, name }) {
      return { path: `/assets/${storyId}/${name}`, url: `https://us.test/${storyId}/${name}` };
    },
    async cutLastFrame({ storyId, name, clip }) {
      calls.cuts.push(clip!.url);
      return { path: `/assets/${storyId}/${name}`, url: `https://us.test/${storyId}/${name}` };
    },
    async renderStory({ storyId, audio }) {
      calls.renders++;
      // The checked copy in the store when there is one, else the story's own reference.
      calls.renderAudio.push(audio?.stored?.url ?? audio?.src);
      const ref = (n: string) => ({ path: `/assets/${storyId}/${n}`, url: `https://us.test/${storyId}/${n}` });
      return { video: ref('story.mp4'), poster: ref('poster.jpg'), storyboard: ref('board.png'), durationSeconds: 10 };
    },
  };
  // Every fake records its name first, so a test can see what ran before what.
  const activities = Object.fromEntries(
    Object.entries(fakes).map(([name, fn]) => [
      name,
      (...args: unknown[]) => {
        calls.order.push(name);
        return (fn as (...a: unknown[]) => unknown)(...args);
      },
    ])
  );
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await bundle,
    activities,
  });
  const running = worker.run();

  return {
    env,
    calls,
    get fate() {
      return world.fate;
    },
    set fate(f) {
      world.fate = f;
    },
    get outage() {
      return world.outage;
    },
    set outage(f) {
      world.outage = f;
    },
    async run(story, storyId, during) {
      const input: StoryWorkflowInput = {
        storyId,
        spec: parseStory(story),
        queues,
        prices: DEFAULT_PRICES,
        timings: { maxRetryDelayMs: 60_000 },
      };
      const handle = await env.client.workflow.start('storyWorkflow', {
        workflowId: storyId,
        taskQueue: queue,
        args: [input],
      });
      // Time is skipped only while a result is awaited: a test's reviews go in first, at the workflow's own pace.
      if (during) await during(env.client.workflow.getHandle(storyId));
      return (await handle.result().catch((err: Error) => err)) as StoryResult | Error;
    },
    async close() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
