// Frozen: the story workflow as it ran before the `reelflow-v2` patch. Runs only for stories whose history has no
// v2 marker (started before the upgrade), so their replay and completion stay exact. Do not edit; delete with the
// other files of legacy/ once no such story runs (docs/operations.md).
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type {
  LumaActivitiesV1 as LumaActivities,
  LumaActivitiesV1 as WebhookActivities,
  MediaActivitiesV1 as MediaActivities,
  StoryWorkflowInputV1 as StoryWorkflowInput,
  WebhookEventV1 as WebhookEvent,
} from './types-v1';
import { gateWorkflowIdV1 as gateWorkflowId } from './types-v1';
import { generationKey, SEARCH_ATTRIBUTES, shotWorkflowId } from '../../common/constants';
import { FailureType, isRefusal } from '../../common/failures';
import { durationMs } from '../../common/duration';
import { frameSize } from '../../common/frame-size';
import {
  keyframeReviewSchema,
  raiseBudgetSchema,
  resultFromProgress,
  shotReviewSchema,
  type AssetRef,
  type ClipAttempt,
  type KeyframeProgress,
  type KeyframeReview,
  type KeyframeReviewInput,
  type KeyframeVariation,
  type ShotReview,
  type Stage,
  type StoryProgress,
  type StoryResult,
} from '../../common/messages';
import { estimateStory, imageCredits, roundMoney, videoCredits } from '../../common/pricing';
import { composeShotPrompt, keyframePrompt, parseWith, ValidationError } from '../../common/story';
import {
  lumaActivityOptions,
  lumaPollOptions,
  mediaActivityOptions,
  webhookActivityOptions,
} from './activity-options-v1';
import { mapWithLimit } from '../concurrency';
import {
  progress,
  raiseBudget,
  reviewKeyframes,
  reviewKeyframesSignal,
  reviewShot,
  reviewShotSignal,
  shotUpdated,
} from './messages-v1';
import { shotWorkflow } from './shot-v1';

/** Keyframe images generated at once per story; Luma allows 40 image generations in flight per account. */
const KEYFRAME_CONCURRENCY = 8;
/** New generations tried when a keyframe image generation fails. */
const KEYFRAME_ATTEMPTS = 3;

/**
 * A story from boundary keyframes through human review and start/end-frame clips to one stitched MP4.
 * Fails with an ApplicationFailure whose details hold the result so far (every paid asset is listed there).
 */
export async function storyWorkflowV1(input: StoryWorkflowInput): Promise<StoryResult> {
  const { storyId, spec, queues, prices } = input;
  const { width, height } = frameSize(spec.aspectRatio, spec.resolution);
  const gateId = gateWorkflowId(queues.prefix);
  const luma = proxyActivities<LumaActivities>(lumaActivityOptions(queues));
  const lumaWait = proxyActivities<LumaActivities>(lumaPollOptions(queues));
  const media = proxyActivities<MediaActivities>(mediaActivityOptions(queues));
  const hooks = proxyActivities<WebhookActivities>(webhookActivityOptions(queues));

  const reviewTimeoutMs = durationMs(spec.review.timeout);
  const now = () => new Date().toISOString();
  const state: StoryProgress = {
    storyId,
    title: spec.title,
    mode: spec.mode,
    stage: 'keyframes',
    keyframes: Array.from({ length: spec.shots.length + 1 }, (_, b) => ({
      boundary: b,
      prompt: keyframePrompt(spec, b),
      round: 1,
      state: 'pending',
      variations: [],
    })),
    shots: spec.shots.map((_, i) => ({ index: i, state: 'pending', attempts: [], credits: 0 })),
    cost: {
      estimated: estimateStory(spec, prices),
      budgetCredits: spec.budgetCredits,
      used: 0,
      dollars: 0,
      waitingForBudget: false,
    },
    stageStartedAt: { keyframes: now() },
  };

  // ---- money: every paid call reserves its credits first, so a budget is never passed -------------------------
  let reserved = 0;
  const committed = () => state.cost.used + reserved;
  async function ensureBudget(credits: number, what: string): Promise<void> {
    const fits = () =>
      state.cost.budgetCredits === undefined || committed() + credits <= state.cost.budgetCredits + 1e-9;
    if (fits()) return;
    const message = `${what} needs ${roundMoney(credits)} credits, but ${roundMoney(committed())} of the budget of ${state.cost.budgetCredits} credits are spent or reserved`;
    if (spec.onBudgetExceeded === 'fail') {
      throw ApplicationFailure.create({ type: FailureType.BudgetExceeded, message, nonRetryable: true });
    }
    log.info('waiting for a raised budget', { storyId, what, credits });
    state.cost.waitingForBudget = true;
    await condition(fits);
    state.cost.waitingForBudget = false;
  }
  async function reserve(credits: number, what: string): Promise<void> {
    await ensureBudget(credits, what);
    reserved += credits;
  }
  function settle(reservedCredits: number, spent: number): void {
    reserved -= reservedCredits;
    state.cost.used = roundMoney(state.cost.used + spent);
    state.cost.dollars = roundMoney(state.cost.used * prices.dollarsPerCredit);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.creditsUsed, value: state.cost.used }]);
  }

  function setStage(stage: Stage): void {
    state.stage = stage;
    state.stageStartedAt[stage] = now();
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
    log.info('story stage', { storyId, stage });
  }

  // ---- webhooks: delivered one after another so receivers see events in order ----------------------------------
  let eventCount = 0;
  let deliveries: Promise<void> = Promise.resolve();
  function notify(type: WebhookEvent['type'], extra: Partial<WebhookEvent> = {}): void {
    const event: WebhookEvent = { id: `${storyId}:${++eventCount}`, type, storyId, at: now(), ...extra };
    deliveries = deliveries.then(() =>
      CancellationScope.nonCancellable(() => hooks.notifyWebhooks(event)).then(
        () => undefined,
        (err) => log.warn('webhook not delivered', { storyId, type, error: String(err) })
      )
    );
  }

  // ---- keyframes ----------------------------------------------------------------------------------------------
  const inFlight = new Set<string>();
  const supplied = (b: number) => !!spec.keyframes?.[b];

  async function generateVariation(kf: KeyframeProgress, v: KeyframeVariation): Promise<void> {
    const cost = imageCredits(prices, spec.imageModel);
    for (let attempt = 1; attempt <= KEYFRAME_ATTEMPTS; attempt++) {
      await reserve(cost, `keyframe ${kf.boundary} variation ${v.index}`);
      v.state = 'generating';
      let spent = 0;
      try {
        const { generationId } = await luma.submitImageGeneration({
          key: generationKey(storyId, 'keyframe', kf.boundary, 'variation', v.index, 'attempt', attempt),
          prompt: kf.prompt,
          model: spec.imageModel,
          aspectRatio: spec.aspectRatio,
        });
        v.generationId = generationId;
        inFlight.add(generationId);
        const finished = await lumaWait.awaitGeneration({ generationId });
        inFlight.delete(generationId);
        if (finished.state === 'completed') {
          spent = cost;
          v.credits = cost;
          const ref = await media.ingestKeyframe({
            storyId,
            name: `keyframes/b${kf.boundary}-v${v.index}.png`,
            source: { providerUrl: finished.assetUrl! },
            width,
            height,
          });
          Object.assign(v, ref, { state: 'ready', error: undefined });
          return;
        }
        v.error = finished.failureReason;
        if (isRefusal(finished.failureReason)) break;
      } finally {
        settle(cost, spent);
      }
    }
    v.state = 'failed';
  }

  async function importSupplied(kf: KeyframeProgress): Promise<void> {
    const v: KeyframeVariation = { index: 0, state: 'generating', credits: 0, supplied: true };
    kf.variations.push(v);
    const ref = await media.ingestKeyframe({
      storyId,
      name: `keyframes/b${kf.boundary}-supplied.png`,
      source: { supplied: spec.keyframes![kf.boundary]! },
      width,
      height,
    });
    Object.assign(v, ref, { state: 'ready' });
    kf.picked = 0;
  }

  async function makeKeyframes(boundaries: number[]): Promise<void> {
    const jobs: Array<() => Promise<void>> = [];
    for (const b of boundaries) {
      const kf = state.keyframes[b];
      kf.state = 'generating';
      if (supplied(b)) {
        jobs.push(() => importSupplied(kf));
        continue;
      }
      for (let i = 0; i < spec.variations; i++) {
        const v: KeyframeVariation = { index: kf.variations.length, state: 'pending', credits: 0 };
        kf.variations.push(v);
        jobs.push(() => generateVariation(kf, v));
      }
    }
    await mapWithLimit(jobs, KEYFRAME_CONCURRENCY, (job) => job());
    for (const b of boundaries) {
      const kf = state.keyframes[b];
      const ready = kf.variations.filter((v) => v.state === 'ready');
      kf.state = ready.length > 0 ? 'ready' : 'failed';
      if (kf.picked === undefined || kf.variations[kf.picked]?.state !== 'ready') kf.picked = ready[0]?.index;
      if (ready.length === 0) {
        const reason = kf.variations.at(-1)?.error ?? 'no variation could be made';
        throw ApplicationFailure.create({
          type: FailureType.GenerationFailed,
          message: `keyframe ${b}: no usable image (${reason})`,
          nonRetryable: true,
        });
      }
    }
  }

  // ---- keyframe review ----------------------------------------------------------------------------------------
  let approved = false;
  const regenerateQueue: KeyframeReview['regenerate'] = [];

  function checkKeyframeReview(raw: KeyframeReviewInput): KeyframeReview {
    if (state.stage !== 'awaiting-keyframe-review') {
      throw ApplicationFailure.create({
        type: 'NotAwaitingReview',
        message: `story ${storyId} is in stage '${state.stage}', not waiting for a keyframe review`,
      });
    }
    const review = parseOrReject(() => parseWith(keyframeReviewSchema, raw, 'keyframe review'));
    const issues: string[] = [];
    const last = state.keyframes.length - 1;
    review.picks.forEach((pick, i) => {
      const kf = state.keyframes[pick.boundary];
      if (!kf) issues.push(`picks[${i}].boundary: no boundary ${pick.boundary} (this story has 0..${last})`);
      else if (kf.variations[pick.variation]?.state !== 'ready') {
        const ready = kf.variations.filter((v) => v.state === 'ready').map((v) => v.index);
        issues.push(
          `picks[${i}].variation: boundary ${pick.boundary} has no ready variation ${pick.variation} (ready: ${ready.join(', ')})`
        );
      }
    });
    review.regenerate.forEach((r, i) => {
      if (!state.keyframes[r.boundary])
        issues.push(`regenerate[${i}].boundary: no boundary ${r.boundary} (this story has 0..${last})`);
      else if (supplied(r.boundary))
        issues.push(`regenerate[${i}].boundary: boundary ${r.boundary} was supplied by the story, not generated`);
    });
    if (issues.length) throw ApplicationFailure.create({ type: 'InvalidReview', message: issues.join('; ') });
    return review;
  }

  function applyKeyframeReview(review: KeyframeReview): void {
    for (const pick of review.picks) state.keyframes[pick.boundary].picked = pick.variation;
    if (review.regenerate.length) regenerateQueue.push(...review.regenerate);
    else if (review.approve) approved = true;
  }

  setHandler(
    reviewKeyframes,
    (raw) => {
      applyKeyframeReview(checkKeyframeReview(raw));
      return state;
    },
    { validator: (raw) => void checkKeyframeReview(raw) }
  );
  setHandler(reviewKeyframesSignal, (raw) => {
    try {
      applyKeyframeReview(checkKeyframeReview(raw));
    } catch (err) {
      log.warn('keyframe review signal dropped', { storyId, error: String(err) });
    }
  });

  async function awaitKeyframeApproval(): Promise<void> {
    while (!approved) {
      setStage('awaiting-keyframe-review');
      notify('story.needs-review', { review: { what: 'keyframes' } });
      const answered = await condition(() => approved || regenerateQueue.length > 0, reviewTimeoutMs);
      if (!answered) {
        if (spec.review.onTimeout === 'approve') {
          log.info('keyframe review timed out; approving the current picks', { storyId });
          approved = true;
          break;
        }
        throw ApplicationFailure.create({
          type: FailureType.ReviewTimedOut,
          message: `nobody reviewed the keyframes within ${spec.review.timeout}`,
          nonRetryable: true,
        });
      }
      if (regenerateQueue.length) {
        const batch = regenerateQueue.splice(0);
        for (const r of batch) {
          const kf = state.keyframes[r.boundary];
          if (r.prompt) kf.prompt = r.prompt;
          kf.round += 1;
        }
        setStage('keyframes');
        await makeKeyframes([...new Set(batch.map((r) => r.boundary))]);
      }
    }
  }

  // ---- shots --------------------------------------------------------------------------------------------------
  const shotDecisions = new Map<number, ShotReview>();
  const earlierAttempts: ClipAttempt[][] = spec.shots.map(() => []);

  setHandler(shotUpdated, (update) => {
    const shot = state.shots[update.index];
    if (!shot) return;
    shot.attempts = [...earlierAttempts[update.index], ...update.attempts];
    if (shot.state !== 'awaiting-review') shot.state = update.state;
    if (update.clip) shot.clip = update.clip;
  });

  function checkShotReview(raw: ShotReview): ShotReview {
    const review = parseOrReject(() => parseWith(shotReviewSchema, raw, 'shot review'));
    const shot = state.shots[review.shot];
    if (!shot) {
      throw ApplicationFailure.create({
        type: 'InvalidReview',
        message: `shot: no shot ${review.shot} (this story has 0..${state.shots.length - 1})`,
      });
    }
    if (shot.state !== 'awaiting-review' || shotDecisions.has(review.shot)) {
      throw ApplicationFailure.create({
        type: 'NotAwaitingReview',
        message: `shot ${review.shot} is '${shot.state}', not waiting for a review`,
      });
    }
    return review;
  }
  setHandler(
    reviewShot,
    (raw) => {
      const review = checkShotReview(raw);
      shotDecisions.set(review.shot, review);
      return state;
    },
    { validator: (raw) => void checkShotReview(raw) }
  );
  setHandler(reviewShotSignal, (raw) => {
    try {
      const review = checkShotReview(raw);
      shotDecisions.set(review.shot, review);
    } catch (err) {
      log.warn('shot review signal dropped', { storyId, error: String(err) });
    }
  });

  setHandler(
    raiseBudget,
    (raw) => {
      state.cost.budgetCredits = parseWith(raiseBudgetSchema, raw, 'budget').budgetCredits;
      return state.cost;
    },
    {
      validator: (raw) => {
        const { budgetCredits } = parseOrReject(() => parseWith(raiseBudgetSchema, raw, 'budget'));
        if (state.cost.budgetCredits !== undefined && budgetCredits <= state.cost.budgetCredits) {
          throw ApplicationFailure.create({
            type: 'InvalidReview',
            message: `budgetCredits: ${budgetCredits} is not above the current budget of ${state.cost.budgetCredits}`,
          });
        }
      },
    }
  );
  setHandler(progress, () => state);

  const approvedKeyframe = (b: number): AssetRef => {
    const kf = state.keyframes[b];
    const v = kf.variations[kf.picked ?? 0];
    return { path: v.path!, url: v.url! };
  };

  async function runShot(i: number, frame0: AssetRef): Promise<AssetRef> {
    const shotSpec = spec.shots[i];
    const shot = state.shots[i];
    const feedback: string[] = [];
    const cost = videoCredits(prices, {
      durationSeconds: shotSpec.duration,
      resolution: spec.resolution,
      frame0: true,
      frame1: true,
    });
    for (let take = 1; ; take++) {
      await reserve(cost, `shot ${i + 1}`);
      let clip: AssetRef;
      let spent = 0;
      try {
        const result = await executeChild(shotWorkflow, {
          workflowId: shotWorkflowId(storyId, i, take),
          taskQueue: queues.workflows,
          args: [
            {
              storyId,
              shot: i,
              take,
              prompt: composeShotPrompt(spec.style, shotSpec.description, feedback),
              model: spec.videoModel,
              aspectRatio: spec.aspectRatio,
              resolution: spec.resolution,
              durationSeconds: shotSpec.duration,
              width,
              height,
              frame0,
              frame1: approvedKeyframe(i + 1),
              attemptsBefore: earlierAttempts[i].length,
              maxAttempts: spec.maxClipAttempts,
              creditsPerAttempt: cost,
              queues,
              gateWorkflowId: gateId,
            },
          ],
        });
        spent = cost;
        clip = result.clip;
        shot.attempts = [...earlierAttempts[i], ...result.attempts];
        shot.clip = clip;
        shot.credits = roundMoney(shot.credits + cost);
      } finally {
        settle(cost, spent);
      }
      if (!spec.review.clips) {
        shot.state = 'done';
        return clip;
      }
      shot.state = 'awaiting-review';
      notify('story.needs-review', { review: { what: 'shot', shot: i + 1 } });
      const answered = await condition(() => shotDecisions.has(i), reviewTimeoutMs);
      const decision: ShotReview = answered
        ? shotDecisions.get(i)!
        : spec.review.onTimeout === 'approve'
          ? { shot: i, decision: 'approve' }
          : failReviewTimeout(`clip of shot ${i + 1}`);
      shotDecisions.delete(i);
      const current = shot.attempts.at(-1)!;
      if (decision.decision === 'approve') {
        current.state = 'approved';
        shot.state = 'done';
        return clip;
      }
      current.state = 'rejected';
      current.feedback = decision.feedback;
      earlierAttempts[i] = [...shot.attempts];
      feedback.push(decision.feedback!);
      if (earlierAttempts[i].length >= spec.maxClipAttempts) {
        shot.state = 'failed';
        throw ApplicationFailure.create({
          type: FailureType.ShotFailed,
          message: `shot ${i + 1}: clip rejected and no attempts left (limit ${spec.maxClipAttempts})`,
          nonRetryable: true,
        });
      }
      shot.state = 'generating';
    }
  }

  async function runShots(): Promise<AssetRef[]> {
    const n = spec.shots.length;
    if (spec.mode === 'chained') {
      const clips: AssetRef[] = [];
      let frame0 = approvedKeyframe(0);
      for (let i = 0; i < n; i++) {
        clips.push(await runShot(i, frame0));
        if (i + 1 < n) {
          frame0 = await media.cutLastFrame({
            storyId,
            name: `frames/shot-${i + 1}-last.png`,
            clipPath: clips[i].path,
          });
        }
      }
      return clips;
    }
    return mapWithLimit(
      spec.shots.map((_, i) => i),
      spec.maxParallelShots,
      (i) => runShot(i, approvedKeyframe(i))
    );
  }

  // ---- the run ------------------------------------------------------------------------------------------------
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.stage, value: state.stage },
    { key: SEARCH_ATTRIBUTES.shotCount, value: spec.shots.length },
    { key: SEARCH_ATTRIBUTES.creditsUsed, value: 0 },
  ]);
  try {
    await ensureBudget(state.cost.estimated.credits, 'the story (estimate)');
    await makeKeyframes(state.keyframes.map((k) => k.boundary));
    if (spec.review.keyframes) await awaitKeyframeApproval();
    setStage('shots');
    const clips = await runShots();
    setStage('stitching');
    state.output = await media.renderStory({
      storyId,
      clips: clips.map((c) => c.path),
      crossfadeSeconds: spec.transition.crossfade,
      audio: spec.audio,
      keyframes: state.keyframes.map((k) => ({
        path: approvedKeyframe(k.boundary).path,
        label: boundaryLabel(k.boundary, spec.shots.length),
      })),
    });
    setStage('completed');
    notify('story.completed', { video: state.output.video.url });
    await deliveries;
    return resultFromProgress(state);
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        await Promise.all([...inFlight].map((generationId) => luma.deleteGeneration({ generationId })));
        for (const s of state.shots) if (s.state !== 'done') s.state = 'cancelled';
        setStage('cancelled');
        notify('story.cancelled');
        await deliveries;
      });
      throw err;
    }
    state.error = describeFailure(err);
    setStage('failed');
    log.warn('story failed', { storyId, error: state.error });
    notify('story.failed', { error: state.error });
    await CancellationScope.nonCancellable(() => deliveries);
    throw ApplicationFailure.create({
      type: failureType(err),
      message: state.error,
      nonRetryable: true,
      details: [resultFromProgress(state)],
    });
  }
}

/** Caption of a boundary in the storyboard. */
function boundaryLabel(b: number, shots: number): string {
  if (b === 0) return 'start of shot 1';
  if (b === shots) return `end of shot ${shots}`;
  return `shot ${b} → ${b + 1}`;
}

function failReviewTimeout(what: string): never {
  throw ApplicationFailure.create({
    type: FailureType.ReviewTimedOut,
    message: `nobody reviewed the ${what} in time`,
    nonRetryable: true,
  });
}

/** Turns a schema error into the failure an update validator answers with. */
function parseOrReject<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ValidationError)
      throw ApplicationFailure.create({ type: 'InvalidReview', message: err.message });
    throw err;
  }
}

/** The innermost failure message: the real reason behind activity and child workflow wrappers. */
function describeFailure(err: unknown): string {
  let current: unknown = err;
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) {
    if (!current.cause) break;
    current = current.cause;
  }
  return current instanceof Error ? current.message : String(current);
}

function failureType(err: unknown): string {
  let current: unknown = err;
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) current = current.cause;
  return current instanceof ApplicationFailure && current.type ? current.type : 'StoryFailed';
}
