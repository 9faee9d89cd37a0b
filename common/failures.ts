import { ApplicationFailure } from '@temporalio/common';

/**
 * Every failure type reelflow raises, where it arises, and whether trying again can help. Workflows, activities and
 * clients match on these names; `failure()` builds one with its retry policy, so no call site decides it again.
 */
export const FAILURES = {
  /** Input the provider or our checks refuse (a bad story field, an undecodable image, a 400 from Luma). */
  BadInput: { retryable: false },
  /** The provider refused the content (moderation, blacklisted words): the same prompt will be refused again. */
  ProviderRefused: { retryable: false },
  /** A generation ended `failed` for a reason a new attempt may not share; the workflow decides about new ones. */
  GenerationFailed: { retryable: false },
  /** A generation did not finish within the story's generation timeout (it was stopped; it was paid for). */
  GenerationTimedOut: { retryable: false },
  /** 401 from the provider: the key is wrong; nothing will fix it by retrying. */
  ProviderAuth: { retryable: false },
  /** 429 from the provider: retried after the delay it asks for, never counted as a failed attempt. */
  RateLimited: { retryable: true },
  /** Not enough credits on the provider account. */
  InsufficientCredits: { retryable: false },
  /** A produced file is not what was asked (duration, size, codec). */
  MediaCheckFailed: { retryable: false },
  /** The story's budget would be passed. */
  BudgetExceeded: { retryable: false },
  /** Nobody reviewed in time. */
  ReviewTimedOut: { retryable: false },
  /** A shot could not be made within its attempt limit. */
  ShotFailed: { retryable: false },
  /** A review the workflow refuses: no such boundary, variation or shot; a variation not ready; rounds used up. */
  InvalidReview: { retryable: false },
  /** A review for a stage the story is not in (not yet there, or moved past it). */
  NotAwaitingReview: { retryable: false },
  /** A permit request the gate can never grant (more slots than the family's cap). */
  InvalidPermitRequest: { retryable: false },
  /** A story failed for a reason with no type of its own. */
  StoryFailed: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

/** One of the failure type names. */
export type FailureTypeName = keyof typeof FAILURES;

/** The failure type names as constants (`FailureType.BadInput === 'BadInput'`). */
export const FailureType = Object.fromEntries(Object.keys(FAILURES).map((name) => [name, name])) as {
  readonly [K in FailureTypeName]: K;
};

/** A failure of `type`, retryable or not as its policy says; `details` ride along (e.g. the result so far). */
export function failure(type: FailureTypeName, message: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: !FAILURES[type].retryable, details });
}

/** A failure that retrying cannot fix (`type` must be one whose policy says so). */
export function nonRetryable(type: FailureTypeName, message: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details });
}

/** A failure to retry after `delayMs` (rate limits), whatever the activity's backoff says. */
export function retryAfter(type: FailureTypeName, message: string, delayMs: number): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: false, nextRetryDelay: delayMs });
}

/** Failure texts that a new attempt with the same input cannot fix (Luma's moderation, fal's content checker). */
const REFUSAL_PATTERNS = [/blacklist/i, /moderation/i, /content_policy_violation/i, /flagged by a content checker/i];

/** Whether a failed generation was refused for its content (retrying the same prompt and frames is pointless). */
export function isRefusal(reason: string | undefined): boolean {
  return !!reason && REFUSAL_PATTERNS.some((p) => p.test(reason));
}
