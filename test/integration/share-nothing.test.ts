import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeMedia } from '../../activities/ffmpeg';
import { spawnWorker } from '../helpers/processes';
import { startS3Server, type S3TestServer } from '../helpers/s3-server';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

// Workers that share nothing but Temporal and the bucket: two media worker processes, each with its own data
// directory and temp directory (two machines), the S3 asset store on a real S3-compatible server (moto). Every clip
// and keyframe is made on machine A; A is then stopped, and machine B, which never saw A's disk, stitches. The
// workflow histories say which worker ran each activity (each worker's identity is `<pid>@<host>`).

let s3: S3TestServer;
let stack: TestStack;
const machines: Array<{ name: string; dataDir: string; tmpDir: string; child?: ChildProcess }> = [];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'reelflow-share-nothing-'));

/** A "machine": a media worker process with its own data dir and TMPDIR. */
function startMachine(name: string) {
  const machine = {
    name,
    dataDir: mkdtempSync(path.join(os.tmpdir(), `reelflow-${name}-data-`)),
    tmpDir: mkdtempSync(path.join(os.tmpdir(), `reelflow-${name}-tmp-`)),
    child: undefined as ChildProcess | undefined,
  };
  machine.child = spawnWorker(stack, name, {
    REELFLOW_WORKER_ROLES: 'media',
    REELFLOW_DATA_DIR: machine.dataDir,
    TMPDIR: machine.tmpDir,
  });
  machines.push(machine);
  return machine;
}

/** Stops a worker process as a deploy would (SIGTERM: it finishes what it runs, then exits). */
function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** Activity type → identities of the workers that started it, over every workflow of a story. */
async function whoRanWhat(storyId: string): Promise<Record<string, string[]>> {
  const ran: Record<string, Set<string>> = {};
  for await (const wf of stack.temporal.workflow.list({ query: `TaskQueue = '${stack.config.queues.workflows}'` })) {
    if (wf.workflowId !== storyId && !wf.workflowId.startsWith(`${storyId}-`)) continue;
    const history = await stack.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const types = new Map<string, string>();
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) types.set(String(event.eventId), scheduled.activityType!.name!);
      const started = event.activityTaskStartedEventAttributes;
      if (started) {
        const type = types.get(String(started.scheduledEventId))!;
        (ran[type] ??= new Set()).add(started.identity!);
      }
    }
  }
  return Object.fromEntries(Object.entries(ran).map(([type, ids]) => [type, [...ids].sort()]));
}

beforeAll(async () => {
  s3 = await startS3Server('moto');
  // This process runs the workflows and the provider calls; media work happens only on the machines.
  stack = await startTestStack({ s3, env: { REELFLOW_WORKER_ROLES: 'workflows,io' } });
});
afterAll(async () => {
  for (const m of machines) if (m.child) await stopped(m.child);
  await stack?.close();
  await s3?.stop();
  for (const m of machines) {
    rmSync(m.dataDir, { recursive: true, force: true });
    rmSync(m.tmpDir, { recursive: true, force: true });
  }
  rmSync(scratch, { recursive: true, force: true });
});

test('clips made on one machine are stitched on another that shares only Temporal and the bucket', async () => {
  const review = { keyframes: false, clips: true, timeout: '1h', onTimeout: 'fail' } as const;
  const a = startMachine('machine-a');
  await stack.client.start(smallStory({ shots: 2, mode: 'parallel', review }), { storyId: 'apart-parallel' });
  await stack.client.start(smallStory({ shots: 2, mode: 'chained', review }), { storyId: 'apart-chained' });

  // Every clip is made (and, chained, the last frame cut) on A while the stories wait for their clip reviews.
  await waitForStage(stack, 'apart-parallel', (p) => p.shots.every((s) => s.state === 'awaiting-review'), 240_000);
  await waitForStage(stack, 'apart-chained', (p) => p.shots[0].state === 'awaiting-review', 240_000);
  await stack.client.reviewShot('apart-chained', { shot: 0, decision: 'approve' });
  await waitForStage(stack, 'apart-chained', (p) => p.shots[1].state === 'awaiting-review', 240_000);

  // Machine A goes away; B, with its own empty disk, takes the media queue.
  await stopped(a.child!);
  const b = startMachine('machine-b');
  for (const shot of [0, 1]) await stack.client.reviewShot('apart-parallel', { shot, decision: 'approve' });
  await stack.client.reviewShot('apart-chained', { shot: 1, decision: 'approve' });

  const identity = (m: { child?: ChildProcess }) => `${m.child!.pid}@${os.hostname()}`;
  for (const storyId of ['apart-parallel', 'apart-chained']) {
    const result = await stack.client.result(storyId);
    expect({ storyId, status: result.status, error: result.error }).toEqual({
      storyId,
      status: 'completed',
      error: undefined,
    });
    const video = path.join(scratch, `${storyId}.mp4`);
    await stack.assets.get(result.output!.video, video);
    expect((await probeMedia(video)).durationSeconds).toBeCloseTo(10 - 0.5, 0);

    const ran = await whoRanWhat(storyId);
    expect({ storyId, ingestKeyframe: ran.ingestKeyframe, ingestClip: ran.ingestClip }).toEqual({
      storyId,
      ingestKeyframe: [identity(a)],
      ingestClip: [identity(a)],
    });
    expect({ storyId, renderStory: ran.renderStory }).toEqual({ storyId, renderStory: [identity(b)] });
    if (storyId === 'apart-chained') expect(ran.cutLastFrame).toEqual([identity(a)]);
  }

  // Neither machine kept an asset on its disk, nor a scratch directory in its temp dir.
  await stopped(b.child!);
  for (const m of machines) {
    expect({ machine: m.name, files: filesUnder(m.dataDir) }).toEqual({ machine: m.name, files: [] });
    const leftovers = readdirSync(m.tmpDir).filter((name) => name.startsWith('reelflow-'));
    expect({ machine: m.name, leftovers }).toEqual({ machine: m.name, leftovers: [] });
  }
  expect(filesUnder(stack.config.dataDir)).toEqual([]);
}, 600_000);
