import { log, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../../common/constants';
import { durationMs } from '../../common/duration';
import { frameSize } from '../../common/frame-size';
import { gateWorkflowId } from '../../common/gate';
import type { ProviderId } from '../../common/models';
import type { ShotReview, StoryCheckpoint, StoryWorkflowInput } from '../../common/messages';
import type { Stage } from '../../common/stages';
import type { StoryProgress } from '../../common/progress';
import { storyCurrentDetails } from '../../common/summaries';
import { estimateStory, type PriceTable } from '../../common/pricing';
import { keyframePrompt, type StorySpec } from '../../common/story';
import type { TaskQueues } from '../../common/task-queues';
import { DEFAULT_POLL_WINDOW_MS } from '../generation';
import { recordStoryEnd } from '../metrics';
import { DEFAULT_GATE_RECHECK_MS, type GateRef } from '../slots';

/** Longest pause between failed clip attempts by default. */
const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;
/** History length past which a story waiting for review continues as new (Temporal suggests it from 4,096 events). */
const DEFAULT_CONTINUE_AS_NEW_EVENTS = 4000;
/** How long a clip's create keeps retrying provider trouble before its attempt fails (and a fallback may take over). */
const DEFAULT_SUBMIT_GIVE_UP_MS = 3_600_000;

/**
 * One story run: the facts fixed at start and the state every part of the pipeline shares. `state` is exactly what
 * continue-as-new carries; the rest is rebuilt from the input.
 */
export interface StoryRun {
  readonly input: StoryWorkflowInput;
  readonly storyId: string;
  readonly spec: StorySpec;
  readonly prices: PriceTable;
  readonly queues: TaskQueues;
  readonly frame: { width: number; height: number };
  /** Prefix of every idempotency key of this run: `<story>/<run tag>`. */
  readonly keyBase: string;
  /** Folder of this run's files inside the story's asset folder, so no run writes over another's. */
  readonly assetBase: string;
  /** The gate of the keyframe images' provider account (Luma). */
  readonly gate: GateRef;
  /** The gate of each provider account (one per account, each with its own families and limits). */
  gateOf(provider: ProviderId): GateRef;
  readonly reviewTimeoutMs: number;
  readonly generationTimeoutMs: number;
  readonly timings: {
    pollWindowMs: number;
    gateRecheckMs: number;
    maxRetryDelayMs: number;
    continueAsNewEvents: number;
    submitGiveUpMs: number;
  };
  readonly state: StoryCheckpoint;
  /** Credits set aside for paid calls under way (always 0 where the story may continue as new). */
  reserved: number;
  /** Clip verdicts received and not yet acted on, by shot. */
  readonly shotDecisions: Map<number, ShotReview>;
  /** What the story waits for right now (a review, a budget), by key; shown in the Web UI's current details. */
  readonly waits: Map<string, string>;
}

/** Builds the run from the workflow input, resuming the checkpoint of a continued run. */
export function startRun(input: StoryWorkflowInput): StoryRun {
  const { storyId, spec } = input;
  // The first run's id names the files and keys of the whole chain (continue-as-new and reset keep it).
  const runTag = workflowInfo().firstExecutionRunId.slice(0, 8);
  const timings = input.timings ?? {};
  return {
    input,
    storyId,
    spec,
    prices: input.prices,
    queues: input.queues,
    frame: frameSize(spec.aspectRatio, spec.resolution),
    keyBase: `${storyId}/${runTag}`,
    assetBase: `run-${runTag}`,
    gate: { workflowId: gateWorkflowId(input.queues.prefix, 'luma'), provider: 'luma' },
    gateOf: (provider) => ({ workflowId: gateWorkflowId(input.queues.prefix, provider), provider }),
    reviewTimeoutMs: durationMs(spec.review.timeout),
    generationTimeoutMs: durationMs(spec.generationTimeout ?? '6h'),
    timings: {
      pollWindowMs: timings.pollWindowMs ?? DEFAULT_POLL_WINDOW_MS,
      gateRecheckMs: timings.gateRecheckMs ?? DEFAULT_GATE_RECHECK_MS,
      maxRetryDelayMs: timings.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
      continueAsNewEvents: timings.continueAsNewEvents ?? DEFAULT_CONTINUE_AS_NEW_EVENTS,
      submitGiveUpMs: timings.submitGiveUpMs ?? DEFAULT_SUBMIT_GIVE_UP_MS,
    },
    state: input.resume ?? initialState(input),
    reserved: 0,
    shotDecisions: new Map(),
    waits: new Map(),
  };
}

function initialState(input: StoryWorkflowInput): StoryCheckpoint {
  const { storyId, spec, prices } = input;
  const now = new Date().toISOString();
  const progress: StoryProgress = {
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
      dollarsPerCredit: prices.dollarsPerCredit,
      waitingForBudget: false,
    },
    stageStartedAt: { keyframes: now },
  };
  return {
    progress,
    ledger: {},
    applied: [],
    review: { approved: false, regenerate: [] },
    eventCount: 0,
    startedAtMs: Date.now(),
    keyframeRounds: 0,
  };
}

/** Moves the story to a stage: progress, the stage search attribute, a log line. */
export function setStage(run: StoryRun, stage: Stage): void {
  const progress = run.state.progress;
  progress.stage = stage;
  progress.stageStartedAt[stage] = new Date().toISOString();
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
  log.info('story stage', { storyId: run.storyId, stage });
  showDetails(run);
  if (stage === 'completed' || stage === 'failed' || stage === 'cancelled') {
    recordStoryEnd(stage, progress.cost.used);
  }
}

/**
 * Shows the stage and what the story waits for (reviews and budgets in `run.waits`, and shots whose attempt waits
 * for a provider slot) as the workflow's current details in the Web UI. Not a command: replay is unaffected.
 */
export function showDetails(run: StoryRun): void {
  const waits = [...run.waits.values()];
  const queued = run.state.progress.shots
    .filter((s) => s.state === 'generating' && s.attempts.at(-1)?.state === 'waiting-for-slot')
    .map((s) => s.index + 1);
  if (queued.length) {
    waits.push(`a video slot at the provider gate (${run.gate.workflowId}) for shot ${queued.join(', ')}`);
  }
  setCurrentDetails(storyCurrentDetails(run.state.progress, waits));
}

/** Marks what the story waits for (shown until {@link doneWaiting}). */
export function waitingFor(run: StoryRun, key: string, what: string): void {
  run.waits.set(key, what);
  showDetails(run);
}

/** Clears a wait set by {@link waitingFor}. */
export function doneWaiting(run: StoryRun, key: string): void {
  if (run.waits.delete(key)) showDetails(run);
}
