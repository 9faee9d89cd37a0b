/**
 * `npm run bench`: measures reelflow against its limits in one run on this machine and prints every figure with its
 * goal (issue 12), then writes the same as JSON under bench/results/. Each part is a module returning figures as
 * data; only the stitch part (P4, P5) exists so far.
 *
 *   npm run bench -- [--only stitch] [--quick] [--resolution 1080p] [--clips 6] [--seconds 5] [--crossfade 0.5]
 *                    [--rounds 3] [--keep]
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RESOLUTIONS, type Resolution } from '../common/story';
import { formatTable, machine, writeResults, type Figure } from './figures';
import { benchStitch } from './stitch';

const PARTS = ['stitch'] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: PARTS.join(',') },
      quick: { type: 'boolean', default: false },
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
  // --quick: a look in a minute or two, at a size whose figures still mean something (not the goals' setting).
  const resolution = (values.resolution ?? (values.quick ? '540p' : '1080p')) as Resolution;
  if (!RESOLUTIONS.includes(resolution)) throw new Error(`--resolution must be one of ${RESOLUTIONS.join(', ')}`);
  const rounds = Math.max(1, Number(values.rounds ?? (values.quick ? 1 : 3)) || 1);
  const startedAt = new Date().toISOString();
  const host = machine();
  console.log(`reelflow bench on ${host.cores} cores (${host.cpu}), load ${host.loadAverage.join(' ')}`);

  const figures: Figure[] = [];
  const parts: Record<string, unknown> = {};
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'reelflow-bench-'));
  try {
    if (only.includes('stitch')) {
      const stitch = await benchStitch({
        resolution,
        clips: Number(values.clips),
        clipSeconds: Number(values.seconds),
        crossfadeSeconds: Number(values.crossfade),
        rounds,
        workDir: path.join(workDir, 'stitch'),
        log: (line) => console.log(`  stitch: ${line}`),
      });
      figures.push(...stitch.figures);
      parts.stitch = stitch;
    }
  } finally {
    if (values.keep) console.log(`kept ${workDir}`);
    else await fs.rm(workDir, { recursive: true, force: true });
  }

  console.log(`\n${formatTable(figures)}\n`);
  for (const f of figures.filter((x) => x.note)) console.log(`  ${f.part} ${f.name}: ${f.note}`);
  const file = await writeResults('bench', { startedAt, machine: host, figures, parts });
  console.log(`\nwritten ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
