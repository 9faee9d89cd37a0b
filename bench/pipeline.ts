/**
 * P1 fan-out and P2 orchestration overhead (issue 12): one 6-shot story in parallel and the same story chained, on
 * the real-process stack, at a clip latency of L seconds. Every part of the ideal (one keyframe round, one clip,
 * the stitch) and every overhead figure is read from the run's own workflow histories.
 */
import { figure, type Figure } from './figures';
import { traceTree, type WorkflowTrace } from './histories';
import { criticalPath, median, overlapMs, union, type ActivitySpan, type Interval } from './maths';
import { emulatorAccount, type BenchStack } from './stack';
import { benchStory, runToEnd } from './stories';

/** What P1 and P2 run. */
export interface PipelineBenchOptions {
  bench: BenchStack;
  shots: number;
  /** The emulator's clip latency the stack was started with (ms). */
  clipLatencyMs: number;
  tag: string;
  log: (line: string) => void;
}

/** One shot's span for the timeline (ms from the story's start). */
export interface ShotSpan {
  label: string;
  start: number;
  end: number;
  kind: 'keyframes' | 'clip' | 'stitch';
}

/** The pipeline part's result. */
export interface PipelineBench {
  figures: Figure[];
  parallel: StoryMeasure;
  chained: StoryMeasure;
  /** The parallel story's schedule, for the SVG. */
  spans: ShotSpan[];
}

/** What the histories of one story say. */
export interface StoryMeasure {
  storyId: string;
  wallMs: number;
  keyframeRoundMs: number;
  clipMs: number[];
  stitchMs: number;
  idealMs: number;
  /** From the first clip workflow's start to the last one's close: the shots alone. */
  shotStageMs: number;
  overhead: Overhead;
}

/** P2: the wall against the time on the critical path spent inside activities, with a breakdown of the rest. */
export interface Overhead {
  wallMs: number;
  insideMs: number;
  gapMs: number;
  /** Scheduled → started of the activities on the path (inside the gaps). */
  scheduleToStartMs: number;
  /** Workflow tasks (scheduled → completed) of the story's workflows that fall in the gaps. */
  workflowTaskMs: number;
  /** The rest of the gaps: child workflow starts, signals and updates between workflows, timers. */
  otherMs: number;
  /** The provider had the clip ready, the poll on the path had not yet seen it (inside the poll activities). */
  pollingLagMs: number;
  pathSteps: number;
}

/** Runs P1 and P2. */
export async function benchPipeline(opts: PipelineBenchOptions): Promise<PipelineBench> {
  const { bench, log } = opts;
  const measure = async (mode: 'parallel' | 'chained'): Promise<StoryMeasure> => {
    const id = `bench-${opts.tag}-p1-${mode}`;
    log(`${mode}: a ${opts.shots}-shot story at a clip latency of ${opts.clipLatencyMs / 1000} s`);
    await runToEnd(bench.client, [{ id, story: benchStory({ title: `P1 ${mode}`, shots: opts.shots, mode }) }]);
    const traces = await traceTree(bench.client.temporal, id);
    const m = await measureStory(bench, id, traces);
    log(`${mode}: wall ${(m.wallMs / 1000).toFixed(1)} s, ideal ${(m.idealMs / 1000).toFixed(1)} s`);
    return m;
  };
  const parallel = await measure('parallel');
  const chained = await measure('chained');
  const parallelTraces = await traceTree(bench.client.temporal, parallel.storyId);
  const o = parallel.overhead;
  const share = (x: number) => x / o.wallMs;
  const on = `${opts.shots} shots of 5 s at 540p, clip latency ${opts.clipLatencyMs / 1000} s`;
  const figures = [
    figure({
      part: 'P1',
      name: 'parallel wall ÷ ideal (keyframe round + one clip + stitch)',
      value: parallel.wallMs / parallel.idealMs,
      unit: '×',
      goal: { op: '<=', target: 1.1 },
      note:
        `${on}; wall ${s(parallel.wallMs)} s; ideal ${s(parallel.idealMs)} s = keyframe round ` +
        `${s(parallel.keyframeRoundMs)} + median clip ${s(median(parallel.clipMs))} + stitch ${s(parallel.stitchMs)}` +
        ` (slowest clip ${s(Math.max(...parallel.clipMs))})`,
    }),
    figure({
      part: 'P1',
      name: 'parallel wall ÷ chained wall',
      value: parallel.wallMs / chained.wallMs,
      unit: '×',
      goal: { op: '<=', target: Number((1 / (0.9 * opts.shots)).toFixed(3)) },
      note: `chained wall ${s(chained.wallMs)} s; the goal is 1 / (0.9 × ${opts.shots})`,
    }),
    figure({
      part: 'P1',
      name: 'shots alone: parallel ÷ chained (first clip start → last clip end)',
      value: parallel.shotStageMs / chained.shotStageMs,
      unit: '×',
      goal: { op: '<=', target: Number((1 / (0.9 * opts.shots)).toFixed(3)) },
      note:
        `parallel ${s(parallel.shotStageMs)} s, chained ${s(chained.shotStageMs)} s: the fan-out without the ` +
        'keyframe round and the stitch, which both modes pay once',
    }),
    figure({
      part: 'P2',
      name: 'orchestration overhead (wall − critical path inside activities) ÷ wall',
      value: share(o.gapMs),
      goal: { op: '<=', target: 0.03 },
      note: `the parallel story: ${s(o.gapMs)} s of ${s(o.wallMs)} s outside the ${o.pathSteps} activities on its critical path`,
    }),
    figure({ part: 'P2', name: '… of which schedule-to-start', value: share(o.scheduleToStartMs) }),
    figure({ part: 'P2', name: '… of which workflow task time', value: share(o.workflowTaskMs) }),
    figure({
      part: 'P2',
      name: '… of which the rest (child starts, signals, updates)',
      value: share(o.otherMs),
    }),
    figure({
      part: 'P2',
      name: 'polling granularity (clip ready → poll saw it), inside activities',
      value: share(o.pollingLagMs),
      note: `${s(o.pollingLagMs)} s on the critical path, counted inside the poll activities (not in the overhead)`,
    }),
    figure({
      part: 'P2',
      name: 'orchestration overhead of the chained story',
      value: chained.overhead.gapMs / chained.overhead.wallMs,
      note: `${s(chained.overhead.gapMs)} s of ${s(chained.overhead.wallMs)} s`,
    }),
  ];
  return { figures, parallel, chained, spans: shotSpans(parallelTraces) };
}

async function measureStory(bench: BenchStack, storyId: string, traces: WorkflowTrace[]): Promise<StoryMeasure> {
  const story = traces.find((t) => t.workflowId === storyId)!;
  if (story.end === undefined) throw new Error(`${storyId} has not closed`);
  const round = traces.find((t) => t.workflowId === `${storyId}-keyframes-1`);
  const clips = traces.filter((t) => /-shot-\d+-attempt-\d+$/.test(t.workflowId));
  const render = story.activities.find((a) => a.name === 'renderStory');
  if (!round?.end || !render || clips.some((c) => c.end === undefined)) {
    throw new Error(`${storyId}: its history lacks the keyframe round, a clip or the stitch`);
  }
  const clipMs = clips.map((c) => c.end! - c.start);
  const keyframeRoundMs = round.end - round.start;
  const stitchMs = render.end - render.scheduled;
  const account = await emulatorAccount(bench.stack);
  const landed = new Map(
    account.generations.filter((g) => g.landed_at).map((g) => [g.id, Date.parse(g.landed_at!)] as const)
  );
  return {
    storyId,
    wallMs: story.end - story.start,
    keyframeRoundMs,
    clipMs,
    stitchMs,
    idealMs: keyframeRoundMs + median(clipMs) + stitchMs,
    shotStageMs: Math.max(...clips.map((c) => c.end!)) - Math.min(...clips.map((c) => c.start)),
    overhead: overheadOf(traces, story.start, story.end, landed),
  };
}

/** P2's figures from a story's traces; `landed` maps a generation id to when the provider finished it. */
export function overheadOf(
  traces: WorkflowTrace[],
  wallStart: number,
  wallEnd: number,
  landed: Map<string, number>
): Overhead {
  const spans: ActivitySpan[] = traces.flatMap((t) => t.activities);
  const path = criticalPath(spans, wallStart, wallEnd);
  const gapMs = path.wallMs - path.insideMs;
  const scheduleToStart: Interval[] = path.steps.map((a) => ({ start: a.scheduled, end: a.start }));
  const tasks = traces.flatMap((t) => t.workflowTasks);
  const scheduleToStartMs = overlapMs(scheduleToStart, path.gaps);
  const workflowTaskMs = overlapMs(tasks, path.gaps);
  const explained = overlapMs(union([...scheduleToStart, ...tasks]), path.gaps);
  const pollingLagMs = path.steps
    .filter((a) => a.name === 'pollGeneration' && a.detail && landed.has(a.detail))
    .reduce((sum, a) => sum + Math.max(0, a.end - Math.max(a.start, landed.get(a.detail!)!)), 0);
  return {
    wallMs: path.wallMs,
    insideMs: path.insideMs,
    gapMs,
    scheduleToStartMs,
    workflowTaskMs,
    otherMs: Math.max(0, gapMs - explained),
    pollingLagMs,
    pathSteps: path.steps.length,
  };
}

function shotSpans(traces: WorkflowTrace[]): ShotSpan[] {
  const story = traces[0];
  const rel = (t: number) => t - story.start;
  const spans: ShotSpan[] = [];
  for (const t of traces) {
    const round = /-keyframes-(\d+)$/.exec(t.workflowId);
    const shot = /-shot-(\d+)-attempt-(\d+)$/.exec(t.workflowId);
    if (round && t.end)
      spans.push({ label: `keyframes ${round[1]}`, start: rel(t.start), end: rel(t.end), kind: 'keyframes' });
    if (shot && t.end) spans.push({ label: `shot ${shot[1]}`, start: rel(t.start), end: rel(t.end), kind: 'clip' });
  }
  const render = story.activities.find((a) => a.name === 'renderStory');
  if (render) spans.push({ label: 'stitch', start: rel(render.scheduled), end: rel(render.end), kind: 'stitch' });
  return spans.sort((a, b) => a.start - b.start || a.label.localeCompare(b.label));
}

function s(ms: number): string {
  return (ms / 1000).toFixed(1);
}
