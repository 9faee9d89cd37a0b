import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The six parts of the suite, as the issue numbers them. */
export type PartId = 'R1' | 'R2' | 'R3' | 'R4' | 'R5' | 'R6';

/** One measured figure against its goal. */
export interface Figure {
  part: PartId;
  /** What is measured, e.g. "stories completed ÷ started". */
  name: string;
  /** The measured value as printed, e.g. "20/20" or "1.000". */
  value: string;
  goal: string;
  pass: boolean;
}

/** One part's outcome: its figures plus what a reader needs to check them (failures, counts, seeds). */
export interface PartResult {
  part: PartId;
  title: string;
  figures: Figure[];
  /** Wall time of the part. */
  seconds: number;
  /** Free-form facts behind the figures: failed cases with their reasons, stuck stories, kill times. */
  details: Record<string, unknown>;
}

/** The whole run as written to JSON. */
export interface SuiteReport {
  profile: string;
  seed: number;
  startedAt: string;
  seconds: number;
  /** Where logs, data and the dev server's file of this run are. */
  outDir: string;
  /** Whether every process ran in a network namespace with only a loopback interface. */
  loopbackOnlyNetwork: boolean;
  parts: PartResult[];
  /** Processes that died without the suite killing them, over the whole run. */
  unexpectedExits: unknown[];
  pass: boolean;
}

/** A figure that passes when `pass` holds. */
export function figure(part: PartId, name: string, value: string, goal: string, pass: boolean): Figure {
  return { part, name, value, goal, pass };
}

/** `n/d` and whether it is all of them (an empty set does not pass: a part that did nothing proves nothing). */
export function allOf(part: PartId, name: string, n: number, d: number): Figure {
  return figure(part, name, `${n}/${d}`, `${d}/${d}`, d > 0 && n === d);
}

/** A percentage figure with a 100 % goal. */
export function percentOf(part: PartId, name: string, n: number, d: number): Figure {
  const pct = d === 0 ? 0 : (100 * n) / d;
  return figure(part, name, `${pct.toFixed(1)} % (${n}/${d})`, '100 %', d > 0 && n === d);
}

/** A count whose goal is zero. */
export function zero(part: PartId, name: string, n: number): Figure {
  return figure(part, name, String(n), '0', n === 0);
}

/** The table printed at the end of a run: each figure, its goal, pass or FAIL. */
export function formatTable(report: SuiteReport): string {
  const rows = report.parts.flatMap((p) =>
    p.figures.map((f) => [f.part, f.name, f.value, f.goal, f.pass ? 'pass' : 'FAIL'])
  );
  const header = ['part', 'figure', 'value', 'goal', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const titles = report.parts.map((p) => `${p.part} ${p.title} (${p.seconds.toFixed(0)} s)`);
  return [
    `reelflow chaos · profile ${report.profile} · seed ${report.seed} · ${report.seconds.toFixed(0)} s · ` +
      `network: ${report.loopbackOnlyNetwork ? 'loopback only (own namespace)' : 'host (URL cases off loopback skipped)'}`,
    ...titles,
    `processes that died without being killed by the suite: ${report.unexpectedExits.length}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    report.pass ? 'every goal met' : `goals missed: ${rows.filter((r) => r[4] === 'FAIL').length}`,
  ].join('\n');
}

/** Writes the report as `<dir>/<timestamp>.json` and returns the file. */
export function writeReport(report: SuiteReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}
