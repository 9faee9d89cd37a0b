import {
  allHandlersFinished,
  condition,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type { IoActivities } from '../activities';
import type { WebhookEvent } from '../common/messages';
import type { TaskQueues } from '../common/task-queues';
import { webhookOptions } from './activity-options';
import { enqueueEvent } from './messages';
import { line } from '../common/summaries';

/** Input of a story's webhook outbox: the events known when it starts. */
export interface OutboxInput {
  storyId: string;
  events: WebhookEvent[];
  queues: TaskQueues;
}

const TERMINAL = new Set<WebhookEvent['type']>(['story.completed', 'story.failed', 'story.cancelled']);
/** An outbox whose story went quiet this long without ending (e.g. terminated) closes. */
const IDLE_LIMIT = '30 days';

/**
 * Delivers one story's webhook events in order, each retried for a day, outliving the story: the story finishes when
 * its video is ready, not when receivers answer. Started by the story as an abandoned child; closes after the story's
 * last event.
 */
export async function webhookOutboxWorkflow(input: OutboxInput): Promise<{ delivered: number; dropped: number }> {
  const queue = [...input.events];
  setHandler(enqueueEvent, (event) => void queue.push(event));
  const hooks = proxyActivities<IoActivities>(webhookOptions(input.queues));
  let delivered = 0;
  let dropped = 0;
  let last = '';
  const show = (now: string) =>
    setCurrentDetails(
      `**Now:** ${now}\n**Events:** ${delivered} delivered, ${dropped} dropped, ${queue.length} queued` +
        (last ? `\n**Last:** ${last}` : '')
    );
  for (;;) {
    show(`waiting for the story's next event (closes after ${IDLE_LIMIT} idle)`);
    const idle = line("story's next event", `close after ${IDLE_LIMIT} idle`);
    if (!(await condition(() => queue.length > 0, IDLE_LIMIT, { summary: idle }))) break;
    const event = queue.shift()!;
    show(`delivering ${event.type} (${event.id}), retried for a day`);
    last = `${event.type} (${event.id})`;
    try {
      await hooks.notifyWebhooks.executeWithOptions({ summary: line('deliver', event.type, event.id) }, [event]);
      delivered++;
    } catch (err) {
      dropped++;
      log.warn('webhook event not delivered within a day; dropped', {
        storyId: input.storyId,
        id: event.id,
        error: String(err),
      });
    }
    if (TERMINAL.has(event.type) && queue.length === 0) break;
  }
  await condition(allHandlersFinished);
  return { delivered, dropped };
}
