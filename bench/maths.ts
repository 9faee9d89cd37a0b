/**
 * The pure figure maths of `npm run bench`: time-weighted means of a count over time, percentiles, and the critical
 * path through a run's activities. Times are milliseconds (any epoch); nothing here reads a clock.
 */

/** Something that was going on from `start` to `end` (ms). */
export interface Interval {
  start: number;
  end: number;
}

/** A count that changes over time: `value` holds from `t` until the next step. */
export interface Step {
  t: number;
  value: number;
}

/** How many intervals are open over time: a step at every start and end (an interval is open on [start, end)). */
export function concurrency(intervals: Interval[]): Step[] {
  const edges = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  // Ends before starts at the same instant: a slot handed straight on is not two at once.
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  const steps: Step[] = [];
  let value = 0;
  for (const e of edges) {
    value += e.d;
    if (steps.length && steps[steps.length - 1].t === e.t) steps[steps.length - 1].value = value;
    else steps.push({ t: e.t, value });
  }
  return steps;
}

/** The largest value a step series reaches (0 for none). */
export function maxOf(steps: Step[]): number {
  return steps.reduce((m, s) => Math.max(m, s.value), 0);
}

/** The mean of a step series over [from, to], each value weighted by how long it held; 0 before the first step. */
export function timeWeightedMean(steps: Step[], from: number, to: number): number {
  if (!(to > from)) return 0;
  let area = 0;
  for (let k = 0; k < steps.length; k++) {
    const start = Math.max(from, steps[k].t);
    const end = Math.min(to, k + 1 < steps.length ? steps[k + 1].t : Infinity);
    if (end > start) area += steps[k].value * (end - start);
  }
  return area / (to - from);
}

/** The first time the series reaches at least `value`, or undefined. */
export function firstReach(steps: Step[], value: number): number | undefined {
  return steps.find((s) => s.value >= value)?.t;
}

/** The p-th percentile (0..100) by linear interpolation between closest ranks; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** The median of some values. */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** One activity execution, as a history records it (ms). */
export interface ActivitySpan extends Interval {
  /** When it was scheduled; `start` is when a worker started it. */
  scheduled: number;
  name: string;
  /** Which workflow ran it. */
  workflowId: string;
  /** Anything the caller wants to carry along (e.g. the generation a poll waited for). */
  detail?: string;
}

/** The chain of activities a run waited on, walked back from its end. */
export interface CriticalPath {
  /** The activities on it, in time order. */
  steps: ActivitySpan[];
  /** ms of the wall spent inside those activities (start to end). */
  insideMs: number;
  /** ms between them (and before the first and after the last): orchestration. */
  gaps: Interval[];
  wallMs: number;
}

/**
 * The critical path through a run's activities: from the run's end, take the activity that finished last before
 * it, then the one that finished last before that one started, and so on back to the run's start (the standard
 * "last finisher" walk over a trace). Time inside those activities is the work the run had to wait for; everything
 * between them (scheduling, workflow tasks, child starts, signals) is what orchestration added.
 */
export function criticalPath(spans: ActivitySpan[], wallStart: number, wallEnd: number): CriticalPath {
  const steps: ActivitySpan[] = [];
  const gaps: Interval[] = [];
  const byEnd = [...spans].filter((s) => s.end <= wallEnd && s.start >= wallStart).sort((a, b) => b.end - a.end);
  let t = wallEnd;
  for (;;) {
    const next = byEnd.find((s) => s.end <= t && s.start < t);
    if (!next) break;
    if (t > next.end) gaps.push({ start: next.end, end: t });
    steps.unshift(next);
    t = next.start;
  }
  if (t > wallStart) gaps.push({ start: wallStart, end: t });
  gaps.reverse();
  return {
    steps,
    insideMs: steps.reduce((sum, s) => sum + (s.end - s.start), 0),
    gaps,
    wallMs: wallEnd - wallStart,
  };
}

/** ms of `intervals` that fall inside `within` (both lists may overlap themselves; overlaps count once). */
export function overlapMs(intervals: Interval[], within: Interval[]): number {
  const a = union(intervals);
  const b = union(within);
  let total = 0;
  for (const x of a) for (const y of b) total += Math.max(0, Math.min(x.end, y.end) - Math.max(x.start, y.start));
  return total;
}

/** The union of intervals as disjoint intervals in order. */
export function union(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ ...i });
  }
  return out;
}
