/**
 * Reads a story's workflow histories (the story and every child it started, recursively) into spans the figure
 * maths works on: each workflow's start and close, its activities (scheduled, started, closed) and its workflow
 * tasks. Everything is read from what Temporal recorded, not from the bench's own clock.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ActivitySpan, Interval } from './maths';

const E = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One workflow of a story's tree, as its history says. */
export interface WorkflowTrace {
  workflowId: string;
  /** When it started and closed (ms since the epoch); `end` is undefined while it runs. */
  start: number;
  end?: number;
  activities: ActivitySpan[];
  /** Scheduled → completed of each workflow task. */
  workflowTasks: Interval[];
  /** Ids of the child workflows it started. */
  children: string[];
}

function ms(event: HistoryEvent): number {
  const t = event.eventTime;
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

function firstPayload(payloads: temporal.api.common.v1.IPayloads | null | undefined): unknown {
  const data = payloads?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Turns one history into a trace; `detail` of a poll is the generation id it waited for. */
export function traceOf(workflowId: string, events: HistoryEvent[]): WorkflowTrace {
  const trace: WorkflowTrace = { workflowId, start: 0, activities: [], workflowTasks: [], children: [] };
  const scheduled = new Map<string, { at: number; name: string; detail?: string }>();
  // Temporal writes an activity's Started event lazily, with its close: read them all first, for activities the
  // workflow stopped waiting for before that.
  const started = new Map<string, number>();
  for (const e of events) {
    const a = e.activityTaskStartedEventAttributes;
    if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_STARTED && a) started.set(String(a.scheduledEventId), ms(e));
  }
  const tasks = new Map<string, number>();
  for (const e of events) {
    const id = String(e.eventId);
    switch (e.eventType) {
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        trace.start = ms(e);
        break;
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        trace.end = ms(e);
        break;
      case E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        tasks.set(id, ms(e));
        break;
      case E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      case E.EVENT_TYPE_WORKFLOW_TASK_FAILED:
      case E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: {
        const a =
          e.workflowTaskCompletedEventAttributes ??
          e.workflowTaskFailedEventAttributes ??
          e.workflowTaskTimedOutEventAttributes;
        const at = tasks.get(String(a?.scheduledEventId));
        if (at !== undefined) trace.workflowTasks.push({ start: at, end: ms(e) });
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const a = e.activityTaskScheduledEventAttributes!;
        const input = firstPayload(a.input) as { generationId?: string } | undefined;
        scheduled.set(id, { at: ms(e), name: a.activityType?.name ?? '?', detail: input?.generationId });
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: {
        // The workflow stopped waiting for it here (a polling window cut short by a callback's read); when the
        // worker hears of the cancel and closes it, seconds later, or never, once the workflow is gone, is no
        // time anyone waited for.
        const key = String(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId);
        const s = scheduled.get(key);
        if (!s) break;
        scheduled.delete(key);
        const start = started.get(key) ?? s.at;
        trace.activities.push({ name: s.name, workflowId, scheduled: s.at, start, end: ms(e), detail: s.detail });
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      case E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
        const a =
          e.activityTaskCompletedEventAttributes ??
          e.activityTaskFailedEventAttributes ??
          e.activityTaskTimedOutEventAttributes ??
          e.activityTaskCanceledEventAttributes;
        const key = String(a?.scheduledEventId);
        const s = scheduled.get(key);
        if (!s) break;
        // Started is written with the close for an activity that ran (Temporal records it lazily); its time holds.
        const start = started.get(key) ?? s.at;
        trace.activities.push({ name: s.name, workflowId, scheduled: s.at, start, end: ms(e), detail: s.detail });
        break;
      }
      case E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
        const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
        if (child) trace.children.push(child);
        break;
      }
      default:
        break;
    }
  }
  return trace;
}

/** The story's trace and those of every workflow it started, recursively (the gate is not a child and is left out). */
export async function traceTree(client: Client, rootId: string): Promise<WorkflowTrace[]> {
  const out: WorkflowTrace[] = [];
  const queue = [rootId];
  const seen = new Set<string>();
  while (queue.length) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const history = await client.workflow.getHandle(id).fetchHistory();
    const trace = traceOf(id, history.events ?? []);
    out.push(trace);
    queue.push(...trace.children);
  }
  return out;
}
