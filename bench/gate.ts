/**
 * P3 provider gate (issue 12): many stories at once against the account's cap with two worker processes, measured
 * at the provider (the emulator's record of when each generation was accepted and when it landed), and the same
 * figures for the brief's design: a semaphore of the same size in each of two processes (bench/semaphore-baseline.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { figure, type Figure } from './figures';
import { concurrency, firstReach, maxOf, timeWeightedMean, type Interval, type Step } from './maths';
import {
  BASELINE_KEY,
  emulatorAccount,
  inFlightSpan,
  resetEmulatorCounters,
  tooManyRequests,
  VIDEO_CAP,
  videoGenerationsOf,
  type BenchStack,
} from './stack';
import { benchStory, runToEnd } from './stories';

/** What P3 runs. */
export interface GateBenchOptions {
  bench: BenchStack;
  stories: number;
  shots: number;
  tag: string;
  /** The workers' polling interval, which the baseline polls at too. */
  pollMs: number;
  log: (line: string) => void;
}

/** In flight over one side's run, for the figures and the SVG (ms from its first create). */
export interface GateSide {
  wallMs: number;
  /** Generations accepted by the provider, in flight over time. */
  inFlight: Step[];
  /** The baseline's semaphore holders over time (what it asked for); absent for reelflow. */
  asked?: Step[];
  /** The window the mean is taken over: from the first time the cap was reached to the last create. */
  window: Interval;
  meanOverCap: number;
  max: number;
  tooManyRequests: number;
}

/** The gate part's result. */
export interface GateBench {
  figures: Figure[];
  reelflow: GateSide;
  baseline: GateSide;
}

/** Runs P3 and its baseline. */
export async function benchGate(opts: GateBenchOptions): Promise<GateBench> {
  const { bench, log } = opts;
  const clips = opts.stories * opts.shots;

  await resetEmulatorCounters(bench.stack);
  const ids = Array.from({ length: opts.stories }, (_, i) => `bench-${opts.tag}-p3-${String(i + 1).padStart(2, '0')}`);
  log(`reelflow: ${opts.stories} stories × ${opts.shots} shots at once, cap ${VIDEO_CAP}, two worker processes`);
  await runToEnd(
    bench.client,
    ids.map((id) => ({ id, story: benchStory({ title: `P3 ${id}`, shots: opts.shots }) }))
  );
  const account = await emulatorAccount(bench.stack);
  const reelflow = side(
    videoGenerationsOf(account, ids).map((g) => inFlightSpan(g)),
    tooManyRequests(account)
  );
  log(`reelflow: mean in flight ÷ cap ${reelflow.meanOverCap.toFixed(3)}, max ${reelflow.max}`);

  await resetEmulatorCounters(bench.stack);
  log(`baseline: ${clips} clips from two processes with a semaphore of ${VIDEO_CAP} each, no gate`);
  const half = [Math.ceil(clips / 2), Math.floor(clips / 2)];
  const outs = half.map((_, k) => path.join(bench.stack.dirs.out, `baseline-${k + 1}.json`));
  await Promise.all(
    half.map(async (n, k) => {
      const proc = await bench.stack.group.start({
        name: `baseline-${k + 1}`,
        ...bench.stack.nodeCommand(
          'bench/semaphore-baseline.ts',
          [
            ...['--clips', String(n), '--limit', String(VIDEO_CAP), '--poll-ms', String(opts.pollMs)],
            ...['--out', outs[k], '--tag', `${opts.tag}-${k + 1}`],
          ],
          { LUMAAI_API_KEY: BASELINE_KEY }
        ),
        endsByItself: true,
      });
      const exit = await proc.exited;
      if (exit.code !== 0) throw new Error(`baseline-${k + 1} exited with ${exit.code} (see its log)`);
    })
  );
  const baselineAccount = await emulatorAccount(bench.stack, BASELINE_KEY);
  const holds = outs.flatMap((file) => (JSON.parse(readFileSync(file, 'utf8')) as { holds: Interval[] }).holds);
  const baseline = side(
    baselineAccount.generations.filter((g) => g.generation_type === 'video').map((g) => inFlightSpan(g)),
    tooManyRequests(baselineAccount),
    holds
  );
  log(
    `baseline: mean in flight ÷ cap ${baseline.meanOverCap.toFixed(3)}, max ${baseline.max}, 429s ${baseline.tooManyRequests}`
  );

  const on = `${opts.stories} stories × ${opts.shots} shots, cap ${VIDEO_CAP}, two worker processes`;
  const figures = [
    figure({
      part: 'P3',
      name: 'mean generations in flight ÷ cap while work is queued',
      value: reelflow.meanOverCap,
      goal: { op: '>=', target: 0.95 },
      note: `${on}; time-weighted at the provider from the first time the cap was full to the last create (${s(reelflow.window.end - reelflow.window.start)} s of ${s(reelflow.wallMs)} s)`,
    }),
    figure({
      part: 'P3',
      name: 'maximum generations in flight',
      value: reelflow.max,
      goal: { op: '=', target: VIDEO_CAP },
    }),
    figure({
      part: 'P3',
      name: '429s from the provider',
      value: reelflow.tooManyRequests,
      goal: { op: '=', target: 0 },
    }),
    figure({
      part: 'P3',
      name: 'baseline (semaphore of 10 per process): mean in flight ÷ cap',
      value: baseline.meanOverCap,
      note: `${clips} clips from two processes, no account-wide gate; the provider refuses past its cap`,
    }),
    figure({
      part: 'P3',
      name: 'baseline: generations asked for at once (semaphore holders)',
      value: maxOf(baseline.asked!),
      note: `the provider accepted at most ${baseline.max} at once (its cap)`,
    }),
    figure({ part: 'P3', name: 'baseline: 429s from the provider', value: baseline.tooManyRequests }),
  ];
  return { figures, reelflow, baseline };
}

function side(spans: Interval[], tooMany: number, holds?: Interval[]): GateSide {
  const t0 = Math.min(...spans.map((x) => x.start));
  const rel = (list: Interval[]) => list.map((x) => ({ start: x.start - t0, end: x.end - t0 }));
  const inFlight = concurrency(rel(spans));
  const lastCreate = Math.max(...rel(spans).map((x) => x.start));
  // While work is queued: from when the cap was first full (the first moment a request had to wait) to the last
  // create (after it nothing waits). A run that never fills the cap is measured from its first create.
  const from = firstReach(inFlight, VIDEO_CAP) ?? 0;
  const window = { start: from, end: Math.max(from, lastCreate) };
  return {
    wallMs: Math.max(...rel(spans).map((x) => x.end)),
    inFlight,
    ...(holds && { asked: concurrency(rel(holds)) }),
    window,
    meanOverCap: timeWeightedMean(inFlight, window.start, window.end) / VIDEO_CAP,
    max: maxOf(inFlight),
    tooManyRequests: tooMany,
  };
}

function s(ms: number): string {
  return (ms / 1000).toFixed(1);
}
