/**
 * The SVG timeline of a bench run: generations in flight over time against the cap (P3, reelflow and the semaphore
 * baseline), and each step's span of the parallel story (P1), so a reader sees the schedule rather than reads it.
 */
import type { Step } from './maths';
import type { ShotSpan } from './pipeline';

/** What the timeline draws; either part may be missing when its part did not run. */
export interface TimelineInput {
  cap: number;
  gate?: { reelflow: Step[]; baseline: Step[]; baselineAsked?: Step[] };
  shots?: { spans: ShotSpan[]; title: string };
}

const WIDTH = 960;
const PLOT = { left: 60, right: 20 };
const COLORS = { reelflow: '#1f6feb', baseline: '#d1242f', asked: '#8c959f', cap: '#1a7f37' };
const KIND_COLORS: Record<ShotSpan['kind'], string> = { keyframes: '#8250df', clip: '#1f6feb', stitch: '#bf8700' };

/** The SVG document. */
export function timelineSvg(input: TimelineInput): string {
  const parts: string[] = [];
  let y = 10;
  if (input.gate) {
    const h = 260;
    parts.push(gatePanel(input.cap, input.gate, y, h));
    y += h + 30;
  }
  if (input.shots) {
    const h = 40 + input.shots.spans.length * 22 + 30;
    parts.push(shotsPanel(input.shots, y));
    y += h + 10;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" ` +
    `font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
  );
}

function gatePanel(cap: number, gate: NonNullable<TimelineInput['gate']>, top: number, height: number): string {
  const series = [gate.reelflow, gate.baseline, gate.baselineAsked ?? []];
  const tMax = Math.max(1, ...series.flatMap((s) => s.map((p) => p.t)));
  const vMax = Math.max(cap + 2, ...series.flatMap((s) => s.map((p) => p.value)));
  const plotTop = top + 30;
  const plotH = height - 60;
  const x = (t: number) => PLOT.left + (t / tMax) * (WIDTH - PLOT.left - PLOT.right);
  const yv = (v: number) => plotTop + plotH - (v / vMax) * plotH;
  const path = (steps: Step[]) => {
    if (!steps.length) return '';
    let d = `M${x(steps[0].t).toFixed(1)},${yv(0).toFixed(1)}`;
    let last = 0;
    for (const s of steps) {
      d += ` L${x(s.t).toFixed(1)},${yv(last).toFixed(1)} L${x(s.t).toFixed(1)},${yv(s.value).toFixed(1)}`;
      last = s.value;
    }
    return d;
  };
  const ticks = axisTicks(tMax / 1000).map((sec) => {
    const px = x(sec * 1000).toFixed(1);
    return `<line x1="${px}" y1="${plotTop + plotH}" x2="${px}" y2="${plotTop + plotH + 4}" stroke="#444"/><text x="${px}" y="${plotTop + plotH + 16}" text-anchor="middle">${sec} s</text>`;
  });
  const vTicks = [0, cap, vMax].map(
    (v) => `<text x="${PLOT.left - 6}" y="${(yv(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`
  );
  return [
    `<text x="${PLOT.left}" y="${top + 16}" font-size="14" font-weight="bold">P3: video generations in flight at the provider, against the cap of ${cap}</text>`,
    `<line x1="${PLOT.left}" y1="${plotTop + plotH}" x2="${WIDTH - PLOT.right}" y2="${plotTop + plotH}" stroke="#444"/>`,
    `<line x1="${PLOT.left}" y1="${plotTop}" x2="${PLOT.left}" y2="${plotTop + plotH}" stroke="#444"/>`,
    ...ticks,
    ...vTicks,
    `<line x1="${PLOT.left}" y1="${yv(cap)}" x2="${WIDTH - PLOT.right}" y2="${yv(cap)}" stroke="${COLORS.cap}" stroke-dasharray="6 4"/>`,
    gate.baselineAsked
      ? `<path d="${path(gate.baselineAsked)}" fill="none" stroke="${COLORS.asked}" stroke-dasharray="2 3"/>`
      : '',
    `<path d="${path(gate.baseline)}" fill="none" stroke="${COLORS.baseline}" stroke-width="1.5"/>`,
    `<path d="${path(gate.reelflow)}" fill="none" stroke="${COLORS.reelflow}" stroke-width="2"/>`,
    legend(top + height - 12, [
      ['reelflow (gate)', COLORS.reelflow],
      ['baseline: accepted', COLORS.baseline],
      ['baseline: asked (semaphore holders)', COLORS.asked],
      [`cap ${cap}`, COLORS.cap],
    ]),
  ].join('\n');
}

function shotsPanel(shots: NonNullable<TimelineInput['shots']>, top: number): string {
  const tMax = Math.max(1, ...shots.spans.map((s) => s.end));
  const x = (t: number) => PLOT.left + 40 + (t / tMax) * (WIDTH - PLOT.left - 40 - PLOT.right);
  const rows = shots.spans.map((s, k) => {
    const y = top + 34 + k * 22;
    return (
      `<text x="${PLOT.left + 34}" y="${y + 13}" text-anchor="end">${s.label}</text>` +
      `<rect x="${x(s.start).toFixed(1)}" y="${y}" width="${Math.max(1, x(s.end) - x(s.start)).toFixed(1)}" height="16" fill="${KIND_COLORS[s.kind]}"/>` +
      `<text x="${(x(s.end) + 4).toFixed(1)}" y="${y + 13}">${((s.end - s.start) / 1000).toFixed(1)} s</text>`
    );
  });
  const axisY = top + 34 + shots.spans.length * 22 + 4;
  const ticks = axisTicks(tMax / 1000).map((sec) => {
    const px = x(sec * 1000).toFixed(1);
    return `<text x="${px}" y="${axisY + 14}" text-anchor="middle">${sec} s</text>`;
  });
  return [
    `<text x="${PLOT.left}" y="${top + 16}" font-size="14" font-weight="bold">P1: ${shots.title}</text>`,
    ...rows,
    `<line x1="${x(0)}" y1="${axisY}" x2="${x(tMax)}" y2="${axisY}" stroke="#444"/>`,
    ...ticks,
  ].join('\n');
}

function legend(y: number, items: Array<[string, string]>): string {
  let xPos = PLOT.left;
  return items
    .map(([label, color]) => {
      const out = `<rect x="${xPos}" y="${y - 9}" width="14" height="4" fill="${color}"/><text x="${xPos + 20}" y="${y - 4}">${label}</text>`;
      xPos += 30 + label.length * 6.5;
      return out;
    })
    .join('');
}

/** Round tick positions in seconds: about eight of them. */
function axisTicks(maxSeconds: number): number[] {
  const raw = maxSeconds / 8;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300].find((s) => s >= raw) ?? Math.ceil(raw / 300) * 300;
  const out: number[] = [];
  for (let t = 0; t <= maxSeconds + 1e-9; t += step) out.push(t);
  return out;
}
