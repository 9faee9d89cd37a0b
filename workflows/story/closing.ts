import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  log,
  proxyActivities,
} from '@temporalio/workflow';
import type { IoActivities } from '../../activities';
import { failure, FAILURES, FailureType, type FailureTypeName } from '../../common/failures';
import type { SweepInput } from '../../common/generations';
import type { ProviderId } from '../../common/models';
import { resultFromProgress, type StoryProgress, type StoryResult } from '../../common/progress';
import { generationCredits } from '../../common/pricing';
import { shotRoute } from '../../common/story';
import { sweepOptions } from '../activity-options';
import { asCancellation } from '../cancelled';
import { paidFromSweep } from '../paid';
import { innermostMessage } from '../parent';
import { line } from '../../common/summaries';
import { recordPaid } from './budget';
import type { Notifier } from './notifications';
import { setStage, type StoryRun } from './run';

/** What the story made and paid for so far. */
export function resultOf(run: StoryRun): StoryResult {
  return resultFromProgress(progressOf(run));
}

/** The progress a caller sees: the story's state with every paid generation listed. */
export function progressOf(run: StoryRun): StoryProgress {
  return { ...run.state.progress, paid: Object.values(run.state.ledger) };
}

/**
 * Ends a cancelled story: its children have stopped their generations; a sweep of the story's keys stops and
 * records anything still in flight (a create whose answer never came), so nothing paid goes untracked.
 */
export async function closeCancelled(run: StoryRun, notifier: Notifier, err: unknown): Promise<never> {
  await CancellationScope.nonCancellable(async () => {
    await sweepStory(run);
    for (const s of run.state.progress.shots) if (s.state !== 'done') s.state = 'cancelled';
    setStage(run, 'cancelled');
    notifier.notify('story.cancelled');
    await notifier.flushed();
  });
  throw asCancellation(err);
}

/**
 * Ends a failed story: sweeps its keys like a cancel, then fails the workflow (Failed in the Web UI) with the
 * result so far, every paid asset listed, in the failure's details.
 */
export async function closeFailed(run: StoryRun, notifier: Notifier, err: unknown): Promise<never> {
  const message = innermostMessage(err);
  await CancellationScope.nonCancellable(async () => {
    await sweepStory(run);
    run.state.progress.error = message;
    setStage(run, 'failed');
    log.warn('story failed', { storyId: run.storyId, error: message });
    notifier.notify('story.failed', { error: message });
    await notifier.flushed();
  });
  throw failure(failureType(err), message, [resultOf(run)]);
}

/**
 * Where a story's generations can be: Luma (its keyframes, its Ray shots) and every other provider its shots or
 * their fallbacks name. A Luma-only story names no targets, as recorded stories did (the sweep then looks at every
 * provider the worker has).
 */
export function storyTargets(run: StoryRun): Pick<SweepInput, 'targets'> {
  const models = new Map<ProviderId, Set<string>>();
  run.spec.shots.forEach((_, i) => {
    const route = shotRoute(run.spec, i);
    for (const r of [route, ...(route.fallback ? [route.fallback] : [])]) {
      if (!models.has(r.provider)) models.set(r.provider, new Set());
      models.get(r.provider)!.add(r.model);
    }
  });
  if ([...models.keys()].every((p) => p === 'luma')) return {};
  models.delete('luma');
  return { targets: [{ provider: 'luma' }, ...[...models].map(([provider, m]) => ({ provider, models: [...m] }))] };
}

/** Sweeps the keys of attempts whose provider could not be asked when the shot fell back (a story that completed). */
export async function settleUnsettled(run: StoryRun): Promise<void> {
  const unsettled = run.state.unsettled ?? [];
  if (unsettled.length === 0) return;
  const sweeper = proxyActivities<IoActivities>(sweepOptions(run.queues));
  for (const u of unsettled) {
    try {
      const found = await sweeper.sweepGenerations({
        keyPrefix: u.key,
        sinceMs: run.state.startedAtMs,
        targets: [{ provider: u.provider, models: [u.model] }],
      });
      recordPaid(
        run,
        paidFromSweep(
          found,
          (g) => describeKey(g.key.slice(run.keyBase.length + 1)),
          (g) => generationCredits(run.prices, g.price)
        )
      );
    } catch (err) {
      log.warn('could not settle a key at its provider', { key: u.key, provider: u.provider, error: String(err) });
    }
  }
  run.state.unsettled = [];
}

async function sweepStory(run: StoryRun): Promise<void> {
  const sweeper = proxyActivities<IoActivities>(sweepOptions(run.queues));
  try {
    const found = await sweeper.sweepGenerations.executeWithOptions(
      { summary: line('sweep', "stop and count the story's generations at every provider") },
      [{ keyPrefix: run.keyBase, sinceMs: run.state.startedAtMs, ...storyTargets(run) }]
    );
    run.state.unsettled = [];
    recordPaid(
      run,
      paidFromSweep(
        found,
        (g) => run.state.ledger[g.generationId]?.what ?? describeKey(g.key.slice(run.keyBase.length + 1)),
        (g) => generationCredits(run.prices, g.price)
      )
    );
  } catch (err) {
    log.warn('could not sweep the story at the provider', { storyId: run.storyId, error: String(err) });
  }
}

/** `kf/b2/v1/a1` → `keyframe 2 variation 1`; `shot/3/a2` → `shot 3 attempt 2`. */
function describeKey(rest: string): string {
  const kf = /^kf\/b(\d+)\/v(\d+)/.exec(rest);
  if (kf) return `keyframe ${kf[1]} variation ${kf[2]}`;
  const shot = /^shot\/(\d+)\/a(\d+)/.exec(rest);
  if (shot) return `shot ${shot[1]} attempt ${shot[2]}`;
  return rest;
}

/** The story's failure type: the innermost cause's, where it is one of ours. */
function failureType(err: unknown): FailureTypeName {
  let current: unknown = err;
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) current = current.cause;
  const type = current instanceof ApplicationFailure ? current.type : undefined;
  return type && type in FAILURES ? (type as FailureTypeName) : FailureType.StoryFailed;
}
