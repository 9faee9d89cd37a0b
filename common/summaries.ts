import type { CostEstimate, StoryProgress } from './progress';
import { STAGE_LABELS } from './stages';
import type { StorySpec } from './story';

// What the Temporal Web UI shows of a story: the run's fixed summary and details (set at start), the workflow's
// current details (what it does and waits for now) and the one-line summary of each activity, timer and child.
// Plain text with a little Markdown, which the UI renders (no `$`: it starts TeX math there); pure, so the client
// and the workflows share it.

/** Separator of the parts of a one-line summary: `shot 3 · submit clip · ray-3-14 5 s`. */
const SEP = ' · ';

/** A one-line summary from its parts (empty parts are left out). */
export function line(...parts: Array<string | number | undefined | false>): string {
  return parts.filter((p) => p !== undefined && p !== false && p !== '').join(SEP);
}

/** The run's fixed one-liner: title, shots, mode. */
export function storySummary(spec: StorySpec): string {
  const shots = spec.shots.length;
  return line(spec.title, `${shots} shot${shots === 1 ? '' : 's'}`, spec.mode);
}

/** The run's fixed details: the estimate and the settings that decide what it makes and spends. */
export function storyStaticDetails(spec: StorySpec, estimate: CostEstimate, dollarsPerCredit: number): string {
  const seconds = spec.shots.reduce((sum, s) => sum + s.duration, 0);
  const review = spec.review;
  return [
    `**Estimate:** ${estimate.credits} credits (${estimate.dollars.toFixed(2)} USD): ` +
      `${estimate.keyframeImages} keyframe images (${estimate.imageCredits}), ${estimate.clips} clips (${estimate.videoCredits})`,
    `**Video:** ${line(spec.videoModel, `${spec.resolution} ${spec.aspectRatio}`, `${seconds} s`)}` +
      `${SEP}cross-fade ${spec.transition.crossfade} s${spec.audio ? `${SEP}audio` : ''}`,
    `**Keyframes:** ${line(spec.imageModel, `${spec.variations} variation${spec.variations === 1 ? '' : 's'} per boundary`)}`,
    `**Review:** ${line(
      `keyframes ${review.keyframes ? 'yes' : 'no'}`,
      `clips ${review.clips ? 'yes' : 'no'}`,
      `${review.timeout} then ${review.onTimeout}`,
      `${review.maxRounds} rounds`
    )}`,
    `**Budget:** ${
      spec.budgetCredits === undefined
        ? 'none'
        : `${spec.budgetCredits} credits (${(spec.budgetCredits * dollarsPerCredit).toFixed(2)} USD), then ${spec.onBudgetExceeded}`
    }`,
    `**Shots:** ${line(
      spec.mode === 'parallel' ? `up to ${spec.maxParallelShots} at once` : 'chained',
      `${spec.maxClipAttempts} attempts each`,
      `generation timeout ${spec.generationTimeout}`
    )}`,
  ].join('\n');
}

/**
 * The story's current details: its stage, what it waits for (each entry of `waits`, e.g. a review, a budget, a
 * provider slot) and where its keyframes, shots and credits stand.
 */
export function storyCurrentDetails(progress: StoryProgress, waits: string[]): string {
  const kf = progress.keyframes;
  const shots = progress.shots;
  const count = (state: string) => shots.filter((s) => s.state === state).length;
  const shotParts = [
    `${count('done')} done`,
    count('generating') && `${count('generating')} generating`,
    count('awaiting-review') && `${count('awaiting-review')} awaiting review`,
    count('failed') && `${count('failed')} failed`,
  ].filter(Boolean);
  const cost = progress.cost;
  return [
    `**Stage:** ${STAGE_LABELS[progress.stage]} (${progress.stage})`,
    waits.length ? `**Waiting for:** ${waits.join('; ')}` : '**Waiting for:** nothing (working)',
    `**Keyframes:** ${kf.filter((k) => k.state === 'ready').length}/${kf.length} ready`,
    `**Shots:** ${shotParts.join(', ')} of ${shots.length}`,
    `**Credits:** ${cost.used} used (${cost.dollars.toFixed(2)} USD) of ${cost.estimated.credits} estimated` +
      (cost.budgetCredits === undefined ? '' : `, budget ${cost.budgetCredits}`),
    ...(progress.error ? [`**Error:** ${progress.error}`] : []),
  ].join('\n');
}

/** `5 min`, `72 h`, `900 ms`: a wait's length as people read it. */
export function humanMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}
