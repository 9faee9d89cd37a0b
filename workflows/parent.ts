import { getExternalWorkflowHandle, log, workflowInfo, type SignalDefinition } from '@temporalio/workflow';

/** Sends `signal` to this workflow's parent, if it has one; a parent that is gone is logged, not fatal. */
export async function tellParent<Args extends unknown[]>(signal: SignalDefinition<Args>, ...args: Args): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return;
  try {
    await getExternalWorkflowHandle(parent.workflowId).signal(signal, ...args);
  } catch (err) {
    log.warn('could not report to the parent workflow', { signal: signal.name, error: innermostMessage(err) });
  }
}

/** The innermost message of a wrapped failure: the real reason behind activity and child workflow wrappers. */
export function innermostMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && (current as { cause?: unknown }).cause instanceof Error) {
    current = (current as { cause: Error }).cause;
  }
  return current instanceof Error ? current.message : String(current);
}
