// Frozen (README: Decisions): the v1 story's shared state and its money, stage and webhook helpers,
// split out of the former single function without changing what it does or in which order.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  proxyActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../../../common/constants';
import { durationMs } from '../../../common/duration';
import { FailureType } from '../../../common/failures';
import { frameSize } from '../../../common/frame-size';
import type { KeyframeReview, ShotReview } from '../../../common/messages';
import { estimateStory, roundMoney, type PriceTable } from '../../../common/pricing';
import type { ClipAttempt, StoryProgress } from '../../../common/progress';
import type { Stage } from '../../../common/stages';
import { keyframePrompt, type StorySpec } from '../../../common/story';
import {
  lumaActivityOptions,
  lumaPollOptions,
  mediaActivityOptions,
  webhookActivityOptions,
} from '../activity-options-v1';
import {
  gateWorkflowIdV1,
  type LumaActivitiesV1,
  type MediaActivitiesV1,
  type StoryWorkflowInputV1,
  type TaskQueuesV1,
  type WebhookEventV1,
} from '../types-v1';

/** Everything the parts of a v1 story share (its closures' variables, as one object). */
export interface V1Run {
  storyId: string;
  spec: StorySpec;
  queues: TaskQueuesV1;
  prices: PriceTable;
  width: number;
  height: number;
  gateId: string;
  luma: LumaActivitiesV1;
  lumaWait: LumaActivitiesV1;
  media: MediaActivitiesV1;
  hooks: LumaActivitiesV1;
  reviewTimeoutMs: number;
  state: StoryProgress;
  reserved: number;
  eventCount: number;
  deliveries: Promise<void>;
  inFlight: Set<string>;
  approved: boolean;
  regenerateQueue: KeyframeReview['regenerate'];
  shotDecisions: Map<number, ShotReview>;
  earlierAttempts: ClipAttempt[][];
}

/** ISO time on the workflow clock. */
export const now = () => new Date().toISOString();

/** The v1 run of `input`, as the single function built it at its start. */
export function startV1(input: StoryWorkflowInputV1): V1Run {
  const { storyId, spec, queues, prices } = input;
  const { width, height } = frameSize(spec.aspectRatio, spec.resolution);
  return {
    storyId,
    spec,
    queues,
    prices,
    width,
    height,
    gateId: gateWorkflowIdV1(queues.prefix),
    luma: proxyActivities<LumaActivitiesV1>(lumaActivityOptions(queues)),
    lumaWait: proxyActivities<LumaActivitiesV1>(lumaPollOptions(queues)),
    media: proxyActivities<MediaActivitiesV1>(mediaActivityOptions(queues)),
    hooks: proxyActivities<LumaActivitiesV1>(webhookActivityOptions(queues)),
    reviewTimeoutMs: durationMs(spec.review.timeout),
    state: {
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
    },
    reserved: 0,
    eventCount: 0,
    deliveries: Promise.resolve(),
    inFlight: new Set<string>(),
    approved: false,
    regenerateQueue: [],
    shotDecisions: new Map<number, ShotReview>(),
    earlierAttempts: spec.shots.map(() => []),
  };
}

/** Whether the story supplied boundary `b` itself. */
export const supplied = (r: V1Run, b: number) => !!r.spec.keyframes?.[b];

export async function ensureBudget(r: V1Run, credits: number, what: string): Promise<void> {
  const { state } = r;
  const committed = () => state.cost.used + r.reserved;
  const fits = () => state.cost.budgetCredits === undefined || committed() + credits <= state.cost.budgetCredits + 1e-9;
  if (fits()) return;
  const message = `${what} needs ${roundMoney(credits)} credits, but ${roundMoney(committed())} of the budget of ${state.cost.budgetCredits} credits are spent or reserved`;
  if (r.spec.onBudgetExceeded === 'fail') {
    throw ApplicationFailure.create({ type: FailureType.BudgetExceeded, message, nonRetryable: true });
  }
  log.info('waiting for a raised budget', { storyId: r.storyId, what, credits });
  state.cost.waitingForBudget = true;
  await condition(fits);
  state.cost.waitingForBudget = false;
}

export async function reserve(r: V1Run, credits: number, what: string): Promise<void> {
  await ensureBudget(r, credits, what);
  r.reserved += credits;
}

export function settle(r: V1Run, reservedCredits: number, spent: number): void {
  const { state } = r;
  r.reserved -= reservedCredits;
  state.cost.used = roundMoney(state.cost.used + spent);
  state.cost.dollars = roundMoney(state.cost.used * r.prices.dollarsPerCredit);
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.creditsUsed, value: state.cost.used }]);
}

export function setStage(r: V1Run, stage: Stage): void {
  r.state.stage = stage;
  r.state.stageStartedAt[stage] = now();
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
  log.info('story stage', { storyId: r.storyId, stage });
}

/** Webhooks, delivered one after another so receivers see events in order. */
export function notify(r: V1Run, type: WebhookEventV1['type'], extra: Partial<WebhookEventV1> = {}): void {
  const event: WebhookEventV1 = { id: `${r.storyId}:${++r.eventCount}`, type, storyId: r.storyId, at: now(), ...extra };
  r.deliveries = r.deliveries.then(() =>
    CancellationScope.nonCancellable(() => r.hooks.notifyWebhooks(event)).then(
      () => undefined,
      (err) => log.warn('webhook not delivered', { storyId: r.storyId, type, error: String(err) })
    )
  );
}
