/**
 * `npm run bench`: measures reelflow against its limits in one run on this machine and prints every figure with its
 * goal (issue 12), then writes the same as JSON under bench/results/, with an SVG timeline beside it. Each part is a
 * module returning figures as data: stitch (P4, P5), pipeline (P1, P2), gate (P3), scale (P6).
 *
 *   npm run bench -- [--quick] [--only stitch,pipeline,gate,scale] [--latency <s>] [--keep]
 *                    [--resolution 1080p] [--clips 6] [--seconds 5] [--crossfade 0.5] [--rounds 3]
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RESOLUTIONS, type Resolution } from '../common/story';
import { formatTable, machine, RESULTS_DIR, writeResults, type Figure } from './figures';
import { benchGate, type GateBench } from './gate';
import { benchPipeline, type PipelineBench } from './pipeline';
import { benchScale } from './scale';
import { startBenchStack, VIDEO_CAP, type BenchStack } from './stack';
import { benchStitch } from './stitch';
import { runTag } from './stories';
import { timelineSvg } from './timeline';

const PARTS = ['stitch', 'pipeline', 'gate', 'scale'] as const;

/** How big a run is. The full one fits in 30 minutes on 2 cores; the quick one is a look in a few minutes. */
const PROFILES = {
  full: {
    stitch: { resolution: '1080p' as Resolution, rounds: 5 },
    pipeline: { shots: 6, clipLatencyMs: 20_000 },
    gate: { stories: 20, shots: 6 },
    scale: { waiting: 1000, throughToMp4: 100, clipLatencyMs: 10_000 },
  },
  quick: {
    stitch: { resolution: '540p' as Resolution, rounds: 1 },
    pipeline: { shots: 6, clipLatencyMs: 5_000 },
    gate: { stories: 4, shots: 6 },
    scale: { waiting: 100, throughToMp4: 20, clipLatencyMs: 5_000 },
  },
};

/** The workers' polling interval: the production default, which the baseline polls at too. */
const POLL_MS = 3000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: PARTS.join(',') },
      quick: { type: 'boolean', default: false },
      latency: { type: 'string' },
      resolution: { type: 'string' },
      clips: { type: 'string', default: '6' },
      seconds: { type: 'string', default: '5' },
      crossfade: { type: 'string', default: '0.5' },
      rounds: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const only = values.only.split(',').map((p) => p.trim());
  const unknown = only.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length) throw new Error(`--only: unknown part ${unknown.join(', ')} (parts: ${PARTS.join(', ')})`);
  const profileName = values.quick ? 'quick' : 'full';
  const profile = PROFILES[profileName];
  const resolution = (values.resolution ?? profile.stitch.resolution) as Resolution;
  if (!RESOLUTIONS.includes(resolution)) throw new Error(`--resolution must be one of ${RESOLUTIONS.join(', ')}`);
  const rounds = Math.max(1, Number(values.rounds ?? profile.stitch.rounds) || 1);
  const latencyMs = values.latency ? Number(values.latency) * 1000 : profile.pipeline.clipLatencyMs;
  if (!(latencyMs > 0)) throw new Error('--latency must be a number of seconds');
  const startedAt = new Date().toISOString();
  const began = Date.now();
  const host = machine();
  console.log(
    `reelflow bench (${profileName}) on ${host.cores} cores (${host.cpu}), load ${host.loadAverage.join(' ')}`
  );
  const log = (part: string) => (line: string) =>
    console.log(`[${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${part}: ${line}`);

  const figures: Figure[] = [];
  const parts: Record<string, unknown> = {};
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'reelflow-bench-'));
  const tag = runTag();
  let pipeline: PipelineBench | undefined;
  let gate: GateBench | undefined;
  try {
    if (only.includes('stitch')) {
      const stitch = await benchStitch({
        resolution,
        clips: Number(values.clips),
        clipSeconds: Number(values.seconds),
        crossfadeSeconds: Number(values.crossfade),
        rounds,
        workDir: path.join(workDir, 'stitch'),
        log: log('stitch'),
      });
      figures.push(...stitch.figures);
      parts.stitch = stitch;
    }
    if (only.includes('pipeline') || only.includes('gate')) {
      await withStack(path.join(workDir, 'stack-2-workers'), 2, latencyMs, log('stack'), async (bench) => {
        if (only.includes('pipeline')) {
          pipeline = await benchPipeline({
            bench,
            shots: profile.pipeline.shots,
            clipLatencyMs: latencyMs,
            tag,
            log: log('P1/P2'),
          });
          figures.push(...pipeline.figures);
          parts.pipeline = pipeline;
        }
        if (only.includes('gate')) {
          gate = await benchGate({ bench, ...profile.gate, tag, pollMs: POLL_MS, log: log('P3') });
          figures.push(...gate.figures);
          parts.gate = gate;
        }
      });
    }
    if (only.includes('scale')) {
      const latency = values.latency ? latencyMs : profile.scale.clipLatencyMs;
      await withStack(path.join(workDir, 'stack-1-worker'), 1, latency, log('stack'), async (bench) => {
        const scale = await benchScale({ bench, ...profile.scale, tag, log: log('P6') });
        figures.push(...scale.figures);
        parts.scale = scale;
      });
    }
  } finally {
    if (values.keep) console.log(`kept ${workDir}`);
    else await fs.rm(workDir, { recursive: true, force: true });
  }

  console.log(`\n${formatTable(figures)}\n`);
  for (const f of figures.filter((x) => x.note)) console.log(`  ${f.part} ${f.name}: ${f.note}`);
  const minutes = (Date.now() - began) / 60_000;
  const file = await writeResults('bench', { startedAt, profile: profileName, minutes, machine: host, figures, parts });
  console.log(`\nwritten ${path.relative(process.cwd(), file)} (${minutes.toFixed(1)} min)`);
  if (pipeline || gate) {
    const svg = timelineSvg({
      cap: VIDEO_CAP,
      ...(gate && {
        gate: {
          reelflow: gate.reelflow.inFlight,
          baseline: gate.baseline.inFlight,
          baselineAsked: gate.baseline.asked,
        },
      }),
      ...(pipeline && {
        shots: {
          spans: pipeline.spans,
          title: `each step of the ${profile.pipeline.shots}-shot parallel story (clip latency ${latencyMs / 1000} s)`,
        },
      }),
    });
    const svgFile = path.join(RESULTS_DIR, `${path.basename(file, '.json')}-timeline.svg`);
    await fs.writeFile(svgFile, svg);
    console.log(`written ${path.relative(process.cwd(), svgFile)}`);
  }
}

async function withStack(
  outDir: string,
  workers: number,
  clipLatencyMs: number,
  log: (line: string) => void,
  fn: (bench: BenchStack) => Promise<void>
): Promise<void> {
  log(`starting ${workers} worker process(es), clip latency ${clipLatencyMs / 1000} s`);
  const bench = await startBenchStack({ outDir, workers, clipLatencyMs, log });
  try {
    await fn(bench);
  } finally {
    await bench.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
