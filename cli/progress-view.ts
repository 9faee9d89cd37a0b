import cliProgress from 'cli-progress';
import { fileName, type StoryProgress } from '../common/progress';
import type { ReelflowClient } from '../client/reelflow-client';

const FINAL_STAGES = new Set(['completed', 'failed', 'cancelled']);

/** Ready keyframe variations out of those asked for, and finished shots out of all. */
export function progressCounts(p: StoryProgress) {
  const variations = p.keyframes.flatMap((k) => k.variations);
  return {
    keyframesReady: variations.filter((v) => v.state === 'ready').length,
    keyframesTotal: Math.max(variations.length, p.keyframes.length),
    shotsDone: p.shots.filter((s) => s.state === 'done').length,
    shotsTotal: p.shots.length,
  };
}

/** A few plain lines describing a story's progress. */
export function formatProgress(p: StoryProgress): string {
  const c = progressCounts(p);
  const lines = [
    `${p.storyId} "${p.title}" — ${p.stage}${p.error ? `: ${p.error}` : ''}`,
    `keyframes: ${c.keyframesReady}/${c.keyframesTotal} images ready`,
  ];
  for (const k of p.keyframes) {
    const states = k.variations.map((v) => `${v.index}:${v.state}`).join(' ');
    lines.push(`  boundary ${k.boundary}${k.picked !== undefined ? ` (picked ${k.picked})` : ''}: ${states}`);
  }
  lines.push(`shots: ${c.shotsDone}/${c.shotsTotal} done`);
  for (const s of p.shots) {
    const last = s.attempts.at(-1);
    const where = s.model ? ` on ${s.provider ?? 'luma'} ${s.model}${last?.fallback ? ' (fallback)' : ''}` : '';
    lines.push(
      `  shot ${s.index + 1}: ${s.state}${where}, ${s.attempts.length} attempt(s)${last?.generationId ? `, generation ${last.generationId}` : ''}${last?.failureReason ? ` (${last.failureReason})` : ''}`
    );
  }
  const budget = p.cost.budgetCredits !== undefined ? ` of ${p.cost.budgetCredits} budget` : '';
  lines.push(
    `credits: ${p.cost.used}${budget} (estimate ${p.cost.estimated.credits}), $${p.cost.dollars.toFixed(2)}${p.cost.waitingForBudget ? ' — WAITING FOR BUDGET' : ''}`
  );
  if (p.output) lines.push(`video: ${fileName(p.output.video)}`);
  return lines.join('\n');
}

/** Live progress bars until the story ends or waits for a person; returns the last snapshot. */
export async function watchProgress(
  client: ReelflowClient,
  storyId: string,
  intervalMs = 1000
): Promise<StoryProgress> {
  const bars = new cliProgress.MultiBar(
    {
      format: ' {name} |{bar}| {value}/{total} {info}',
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: !process.stdout.isTTY,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic
  );
  let p = await client.progress(storyId);
  const c0 = progressCounts(p);
  const keyframes = bars.create(c0.keyframesTotal, 0, { name: 'keyframes', info: '' });
  const shots = bars.create(c0.shotsTotal, 0, { name: 'shots    ', info: '' });
  try {
    for (;;) {
      const c = progressCounts(p);
      keyframes.setTotal(c.keyframesTotal);
      keyframes.update(c.keyframesReady, { info: p.stage });
      shots.update(c.shotsDone, { info: `${p.cost.used} credits, $${p.cost.dollars.toFixed(2)}` });
      if (
        FINAL_STAGES.has(p.stage) ||
        p.stage === 'awaiting-keyframe-review' ||
        p.shots.some((s) => s.state === 'awaiting-review')
      ) {
        break;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
      p = await client.progress(storyId);
    }
  } finally {
    bars.stop();
  }
  console.log(formatProgress(p));
  return p;
}
