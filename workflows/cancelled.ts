import { CancellationScope, CancelledFailure, isCancellation } from '@temporalio/workflow';

/**
 * Whether this workflow is being cancelled: the error is a cancellation, or it surfaced after a cancel request
 * (a cancelled activity may fail with its own error, say a timed-out request, rather than as cancelled).
 */
export function cancelledWorkflow(err: unknown): boolean {
  return isCancellation(err) || CancellationScope.current().consideredCancelled;
}

/** The error to end a cancelled workflow with, so it closes as Cancelled whatever error surfaced first. */
export function asCancellation(err: unknown): unknown {
  return isCancellation(err) ? err : new CancelledFailure('cancelled', [], err instanceof Error ? err : undefined);
}
