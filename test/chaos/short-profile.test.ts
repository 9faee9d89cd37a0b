import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { SuiteReport } from '../../chaos/report';

const root = path.resolve(__dirname, '../..');
// Well above the short profile's few minutes; the suite gets SIGTERM before jest gives up, so it stops its stack.
const LIMIT_MS = 14 * 60_000;

test(
  "the chaos suite's short profile meets every goal with real processes",
  async () => {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = path.join(root, 'test-artifacts', 'chaos', stamp);
    mkdirSync(dir, { recursive: true });
    const seed = process.env.CHAOS_SEED ?? String(1 + Math.floor(Math.random() * 1e9));
    // `npm run chaos` itself: it puts its stack in a loopback-only network namespace and exits 1 on a missed goal.
    const child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', path.join(root, 'chaos/main.ts'), '--profile', 'short', '--seed', seed],
        ...['--out', path.join(dir, 'run'), '--results', dir],
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }
    );
    const log = createWriteStream(path.join(dir, 'suite.log'));
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const stop = setTimeout(() => child.kill('SIGTERM'), LIMIT_MS);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(stop);

    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file)
      throw new Error(`the suite wrote no report (exit ${code}, seed ${seed}); see ${path.join(dir, 'suite.log')}`);
    const report = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as SuiteReport;
    const missed = report.parts.flatMap((p) =>
      p.figures.filter((f) => !f.pass).map((f) => `${f.part} ${f.name}: ${f.value} (goal ${f.goal})`)
    );
    // A passing run keeps its report and logs; a failing one keeps everything (data, media, corpus) to look into.
    if (missed.length === 0) {
      for (const sub of ['data', 'emulator', 'corpus', 'tmp', 'tmp-aux']) {
        rmSync(path.join(dir, 'run', sub), { recursive: true, force: true });
      }
    }
    // Every part ran and every goal was met; the seed and the run's folder make a failure repeatable and readable.
    expect({ seed, missed, parts: report.parts.map((p) => p.part) }).toEqual({
      seed,
      missed: [],
      parts: ['R1', 'R2', 'R3', 'R4', 'R5', 'R6'],
    });
    expect(report.loopbackOnlyNetwork).toBe(true);
    expect(code).toBe(0);
  },
  LIMIT_MS + 60_000
);
