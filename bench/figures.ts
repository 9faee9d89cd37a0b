import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A goal a figure is held to: at most, at least or exactly `target`. */
export interface Goal {
  op: '<=' | '>=' | '=';
  target: number | string;
}

/** One measured figure of `npm run bench`: a ratio or a count from one run on this machine. */
export interface Figure {
  /** Which part of the bench it belongs to, e.g. `P4` (issue 12's numbering). */
  part: string;
  name: string;
  value: number | string;
  unit?: string;
  /** Absent for figures that are shown for understanding, not judged. */
  goal?: Goal;
  /** Whether `value` meets `goal`; absent without a goal. */
  pass?: boolean;
  /** What it was measured on, or why it came out as it did. */
  note?: string;
}

/** Builds a figure and judges it against its goal. */
export function figure(f: Omit<Figure, 'pass'>): Figure {
  if (!f.goal) return f;
  const { op, target } = f.goal;
  const pass =
    op === '='
      ? f.value === target
      : op === '<='
        ? Number(f.value) <= Number(target)
        : Number(f.value) >= Number(target);
  return { ...f, pass };
}

/** The table `npm run bench` prints: figure, value, goal, pass/fail. */
export function formatTable(figures: Figure[]): string {
  const rows = figures.map((f) => [
    `${f.part} ${f.name}`,
    `${formatValue(f.value)}${f.unit ? ` ${f.unit}` : ''}`,
    f.goal ? `${f.goal.op} ${formatValue(f.goal.target)}${f.unit ? ` ${f.unit}` : ''}` : '',
    f.pass === undefined ? '' : f.pass ? 'pass' : 'FAIL',
  ]);
  const header = ['figure', 'value', 'goal', ''];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 1 || c === 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3);
}

/** The machine a run was measured on, written with the results (the ratios hold across machines; times do not). */
export function machine() {
  let ffmpeg = 'unknown';
  try {
    ffmpeg = execFileSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    // Reported as unknown; the stitch part fails on its own if ffmpeg is missing.
  }
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
    ffmpeg,
  };
}

/** Where results go: `bench/results/` (git-ignored). */
export const RESULTS_DIR = path.join(__dirname, 'results');

/** Writes `data` as JSON under `bench/results/<name>-<time>.json` and returns the path. */
export async function writeResults(name: string, data: unknown): Promise<string> {
  await fs.mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await fs.writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
