import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { clipWorkflowIdOfKey, SEARCH_ATTRIBUTES, STORY_ID_PATTERN } from '../common/constants';
import { type KeyframeReviewInput, type ReviewAck, type ShotReview, type StoryWorkflowInput } from '../common/messages';
import {
  resultFromProgress,
  type CostEstimate,
  type CostProgress,
  type StoryProgress,
  type StoryResult,
  type StorySummary,
} from '../common/progress';
import { type Stage } from '../common/stages';
import { storyStaticDetails, storySummary } from '../common/summaries';
import { ValidationError } from '../common/validation';
import type { ReelflowConfig } from '../config';
import { connectTemporal } from '../config/temporal';
import { FailureType } from '../common/failures';
import { modelListing, type ModelListing } from '../common/listing';
import { generationSettled, progress, raiseBudget, reviewKeyframes, reviewShot } from '../workflows/messages';
import type { storyWorkflow } from '../workflows/story';
import { checkLocalInputs } from './local-inputs';
import { prepareStory } from './prepare-story';

/** A failure a caller can act on: `code` says which (HTTP status and CLI exit follow from it). */
export class ReelflowError extends Error {
  override readonly name = 'ReelflowError';
  constructor(
    readonly code: 'invalid' | 'not-found' | 'conflict' | 'rejected',
    message: string,
    readonly fields?: ValidationError['issues']
  ) {
    super(message);
  }
}

/** A started story. */
export interface StartedStory {
  storyId: string;
  runId: string;
  /** The run in the Temporal Web UI. */
  uiUrl: string;
  estimate: CostEstimate;
}

/** Typed client of reelflow: start stories, review them, follow their progress and read their results. */
export class ReelflowClient {
  private constructor(
    readonly temporal: Client,
    private readonly config: ReelflowConfig,
    private readonly ownsConnection: boolean
  ) {}

  /** Connects to the Temporal cluster named by the config. */
  static async connect(config: ReelflowConfig): Promise<ReelflowClient> {
    return new ReelflowClient(await connectTemporal(config), config, true);
  }

  /** Wraps an existing Temporal client (it stays open on `close`). */
  static fromClient(client: Client, config: ReelflowConfig): ReelflowClient {
    return new ReelflowClient(client, config, false);
  }

  /** Closes the connection if this client opened it. */
  async close(): Promise<void> {
    if (this.ownsConnection) await this.temporal.connection.close();
  }

  /** The run's page in the Temporal Web UI. */
  uiUrl(storyId: string, runId?: string): string {
    const base = `${this.config.temporal.uiUrl}/namespaces/${encodeURIComponent(this.config.temporal.namespace)}/workflows/${encodeURIComponent(storyId)}`;
    return runId ? `${base}/${runId}` : base;
  }

  /**
   * Starts a story; the id defaults to a new one. Fails with `invalid` naming the field for a bad story or a bad local
   * input file (checked here, before anything starts), and with `conflict` if a story with that id exists.
   */
  async start(story: unknown, options: { storyId?: string; baseDir?: string } = {}): Promise<StartedStory> {
    const storyId = options.storyId ?? `story-${randomUUID().slice(0, 8)}`;
    if (!STORY_ID_PATTERN.test(storyId)) {
      throw new ReelflowError(
        'invalid',
        `invalid story id '${storyId}': use letters, digits, '.', '_' and '-' (max 80)`,
        [{ field: 'id', message: 'use letters, digits, ".", "_" and "-" (max 80)' }]
      );
    }
    const { spec, estimate } = this.prepareOrThrow(story, options.baseDir);
    const issues = await checkLocalInputs(spec, this.config.inputs);
    if (issues.length) {
      throw new ReelflowError('invalid', new ValidationError('story', issues).message, issues);
    }
    const input: StoryWorkflowInput = {
      storyId,
      spec,
      queues: this.config.queues,
      prices: this.config.prices,
      webhooks: this.config.api.webhookUrls.length > 0,
      timings: this.config.timings,
    };
    try {
      const handle = await this.temporal.workflow.start<typeof storyWorkflow>('storyWorkflow', {
        workflowId: storyId,
        taskQueue: this.config.queues.workflows,
        // A story id names one run, forever: a finished story's id never starts a second paid run over its files.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        args: [input],
        memo: { title: spec.title },
        // What an operator sees first in the Web UI: the story in one line, the estimate and its settings.
        staticSummary: storySummary(spec),
        staticDetails: storyStaticDetails(spec, estimate, this.config.prices.dollarsPerCredit),
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.stage, value: 'keyframes' },
          { key: SEARCH_ATTRIBUTES.shotCount, value: spec.shots.length },
          { key: SEARCH_ATTRIBUTES.creditsUsed, value: 0 },
        ],
      });
      return {
        storyId,
        runId: handle.firstExecutionRunId,
        uiUrl: this.uiUrl(storyId, handle.firstExecutionRunId),
        estimate,
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new ReelflowError('conflict', `a story with id '${storyId}' already exists; story ids are never reused`);
      }
      throw err;
    }
  }

  private prepareOrThrow(story: unknown, baseDir?: string) {
    try {
      return prepareStory(story, this.config.prices, baseDir);
    } catch (err) {
      if (err instanceof ValidationError) throw new ReelflowError('invalid', err.message, err.issues);
      throw err;
    }
  }

  /** Estimates a story's cost without starting it. */
  estimate(story: unknown): CostEstimate {
    return this.prepareOrThrow(story).estimate;
  }

  /** Every provider and model with what it can make and what it costs under this deployment's prices and limits. */
  models(): ModelListing {
    return modelListing(this.config.prices, { luma: this.config.luma.limits, fal: this.config.fal.limits });
  }

  private handle(storyId: string): WorkflowHandle<typeof storyWorkflow> {
    return this.temporal.workflow.getHandle<typeof storyWorkflow>(storyId);
  }

  /** The story's progress (stage, keyframes, shots, cost). */
  async progress(storyId: string): Promise<StoryProgress> {
    return this.call(storyId, () => this.handle(storyId).query(progress));
  }

  /**
   * Picks variations, regenerates boundaries or approves the keyframes. Pass the same `updateId` when retrying a
   * review whose answer was lost: it is applied once (the answer says `duplicate`).
   */
  async reviewKeyframes(
    storyId: string,
    review: KeyframeReviewInput,
    options: { updateId?: string } = {}
  ): Promise<ReviewAck> {
    return this.call(storyId, () =>
      this.handle(storyId).executeUpdate(reviewKeyframes, { args: [review], updateId: options.updateId })
    );
  }

  /** Approves or rejects (with feedback) one shot's clip; `updateId` as for {@link reviewKeyframes}. */
  async reviewShot(storyId: string, review: ShotReview, options: { updateId?: string } = {}): Promise<ReviewAck> {
    return this.call(storyId, () =>
      this.handle(storyId).executeUpdate(reviewShot, { args: [review], updateId: options.updateId })
    );
  }

  /** Raises the story's credit budget. */
  async raiseBudget(storyId: string, budgetCredits: number): Promise<CostProgress> {
    return this.call(storyId, () => this.handle(storyId).executeUpdate(raiseBudget, { args: [{ budgetCredits }] }));
  }

  /** Cancels the story: its shots stop, in-flight generations are deleted at Luma, made assets are kept. */
  async cancel(storyId: string): Promise<void> {
    await this.call(storyId, async () => {
      // Temporal accepts a cancel request for a closed workflow and does nothing; a caller wants to know.
      const { status } = await this.handle(storyId).describe();
      if (status.name !== 'RUNNING') {
        throw new ReelflowError('conflict', `story '${storyId}' has already ended (${status.name.toLowerCase()})`);
      }
      await this.handle(storyId).cancel();
    });
  }

  /** Waits for the story to end and returns what it made; failed and cancelled stories list their paid assets too. */
  async result(storyId: string): Promise<StoryResult> {
    return this.call(storyId, async () => {
      try {
        return await this.handle(storyId).result();
      } catch (err) {
        if (!(err instanceof WorkflowFailedError)) throw err;
        const cause = err.cause;
        if (cause instanceof ApplicationFailure && cause.details?.[0]) return cause.details[0] as StoryResult;
        if (cause instanceof CancelledFailure || cause instanceof TerminatedFailure) {
          const status = cause instanceof CancelledFailure ? 'cancelled' : 'failed';
          const last = await this.handle(storyId)
            .query(progress)
            .catch(() => undefined);
          if (last) return { ...resultFromProgress(last), status, error: last.error ?? cause.message };
          return emptyResult(storyId, status, cause.message);
        }
        return emptyResult(storyId, 'failed', cause?.message ?? err.message);
      }
    });
  }

  /** Recent stories, newest first, optionally only those in one stage. */
  async list(options: { stage?: Stage; limit?: number } = {}): Promise<StorySummary[]> {
    const query = [`WorkflowType = 'storyWorkflow'`];
    if (options.stage) query.push(`${SEARCH_ATTRIBUTES.stage.name} = '${options.stage}'`);
    const out: StorySummary[] = [];
    for await (const wf of this.temporal.workflow.list({ query: query.join(' AND ') })) {
      out.push({
        storyId: wf.workflowId,
        title: wf.memo?.title as string | undefined,
        status: wf.status.name,
        stage: wf.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage) as Stage | undefined,
        creditsUsed: wf.typedSearchAttributes.get(SEARCH_ATTRIBUTES.creditsUsed),
        startTime: wf.startTime.toISOString(),
      });
      if (out.length >= (options.limit ?? 50)) break;
    }
    return out;
  }

  /**
   * Passes a provider's callback on: tells the clip workflow that created the generation of `key` that it settled,
   * so it reads it at once. False when no running clip attempt has that key (an image's key, an ended attempt).
   */
  async generationSettled(key: string, generationId: string): Promise<boolean> {
    const workflowId = clipWorkflowIdOfKey(key);
    if (!workflowId) return false;
    try {
      await this.temporal.workflow.getHandle(workflowId).signal(generationSettled, { generationId });
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** Runs a call against one story, turning Temporal's errors into ReelflowErrors. */
  private async call<T>(storyId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ReelflowError) throw err;
      if (err instanceof WorkflowNotFoundError) {
        // Temporal answers an update to a closed workflow with "not found … already completed".
        if (/already completed/i.test(err.message)) throw await this.ended(storyId);
        throw new ReelflowError('not-found', `no story with id '${storyId}'`);
      }
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause;
        const type = cause instanceof ApplicationFailure ? cause.type : undefined;
        const message = cause?.message ?? err.message;
        throw new ReelflowError(type === FailureType.NotAwaitingReview ? 'conflict' : 'rejected', message);
      }
      const grpc = err as { code?: number; details?: string };
      if (grpc.code === GrpcStatus.NOT_FOUND) throw new ReelflowError('not-found', `no story with id '${storyId}'`);
      // An update to a closed workflow: the story is no longer waiting for anything.
      if (
        grpc.code === GrpcStatus.FAILED_PRECONDITION ||
        /workflow execution already completed/i.test(String(grpc.details ?? err))
      ) {
        throw await this.ended(storyId);
      }
      throw err;
    }
  }

  /** The refusal of a call to a story that has ended, naming how it ended. */
  private async ended(storyId: string): Promise<ReelflowError> {
    const status = await this.handle(storyId)
      .describe()
      .then((d) => d.status.name.toLowerCase().replace('canceled', 'cancelled'))
      .catch(() => 'ended');
    return new ReelflowError('conflict', `story '${storyId}' has already ended (${status}); it waits for nothing`);
  }
}

function emptyResult(storyId: string, status: StoryResult['status'], error: string): StoryResult {
  return { storyId, status, shots: [], keyframes: [], credits: 0, dollars: 0, error };
}
