import { ApplicationFailure } from '@temporalio/common';
import { type FailureTypeName } from '../common/failures';

export { FailureType, type FailureTypeName } from '../common/failures';

/** A failure that retrying cannot fix. */
export function nonRetryable(type: FailureTypeName, message: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details });
}

/** A failure to retry after `delayMs` (rate limits), whatever the activity's backoff says. */
export function retryAfter(type: FailureTypeName, message: string, delayMs: number): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: false, nextRetryDelay: delayMs });
}
