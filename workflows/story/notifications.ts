import {
  CancellationScope,
  ChildWorkflowCancellationType,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  startChild,
} from '@temporalio/workflow';
import type { WebhookEvent } from '../../common/messages';
import { enqueueEvent } from '../messages';
import { webhookOutboxWorkflow } from '../outbox';
import type { StoryRun } from './run';

/** Sends story events to the story's webhook outbox. */
export interface Notifier {
  /** Queues an event; returns at once (delivery happens in the outbox, in order). */
  notify(type: WebhookEvent['type'], extra?: Partial<WebhookEvent>): void;
  /** Waits until every queued event has reached the outbox (not its receivers). */
  flushed(): Promise<void>;
}

/**
 * Events go to `<story>-webhooks`, an abandoned child that delivers them in order and retries each for a day, so a
 * slow receiver never keeps the story open. Without webhook receivers nothing is started.
 */
export function createNotifier(run: StoryRun): Notifier {
  const outboxId = `${run.storyId}-webhooks`;
  let started = false;
  let chain: Promise<void> = Promise.resolve();

  const hand = async (event: WebhookEvent) => {
    if (!started) {
      try {
        await startChild(webhookOutboxWorkflow, {
          workflowId: outboxId,
          taskQueue: run.queues.workflows,
          staticSummary: `webhooks of ${run.storyId}`,
          args: [{ storyId: run.storyId, events: [event], queues: run.queues }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          cancellationType: ChildWorkflowCancellationType.ABANDON,
        });
        started = true;
        return;
      } catch (err) {
        // Already running (this story continued as new): hand the event over as a signal instead.
        log.info('webhook outbox already running', { storyId: run.storyId, error: String(err) });
        started = true;
      }
    }
    await getExternalWorkflowHandle(outboxId).signal(enqueueEvent, event);
  };

  return {
    notify(type, extra = {}) {
      if (!run.input.webhooks) return;
      const event: WebhookEvent = {
        id: `${run.storyId}:${++run.state.eventCount}`,
        type,
        storyId: run.storyId,
        at: new Date().toISOString(),
        ...extra,
      };
      chain = chain.then(() =>
        CancellationScope.nonCancellable(() => hand(event)).catch((err) =>
          log.warn('webhook event not handed to the outbox', { storyId: run.storyId, type, error: String(err) })
        )
      );
    },
    flushed: () => CancellationScope.nonCancellable(() => chain),
  };
}
