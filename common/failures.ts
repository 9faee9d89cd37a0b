/** Failure types that cross the activity boundary; workflows and clients match on these strings. */
export const FailureType = {
  /** Input the provider or our checks refuse (bad story field, undecodable image, 400 from Luma). Not retried. */
  BadInput: 'BadInput',
  /** Luma refused the content (moderation, blacklisted words). Not retried with the same prompt. */
  ProviderRefused: 'ProviderRefused',
  /** A Luma generation ended `failed` for a reason worth a new attempt. */
  GenerationFailed: 'GenerationFailed',
  /** 401 from Luma: the key is wrong; nothing will fix it by retrying. */
  ProviderAuth: 'ProviderAuth',
  /** 429 from Luma: retried after a delay, never counted as a failure. */
  RateLimited: 'RateLimited',
  /** Not enough credits on the Luma account. */
  InsufficientCredits: 'InsufficientCredits',
  /** A produced file did not match what was asked (duration, size, codec). */
  MediaCheckFailed: 'MediaCheckFailed',
  /** The story's budget would be passed. */
  BudgetExceeded: 'BudgetExceeded',
  /** Nobody reviewed in time. */
  ReviewTimedOut: 'ReviewTimedOut',
  /** A shot could not be made within its attempt limit. */
  ShotFailed: 'ShotFailed',
  /** A generation did not finish within the story's generation timeout (it was stopped; it was paid for). */
  GenerationTimedOut: 'GenerationTimedOut',
} as const;
/** One of the failure type strings. */
export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** failure_reason texts that a new attempt with the same input cannot fix. */
const REFUSAL_PATTERNS = [/blacklist/i, /moderation/i];

/** Whether a failed generation was refused for its content (retrying the same prompt and frames is pointless). */
export function isRefusal(reason: string | undefined): boolean {
  return !!reason && REFUSAL_PATTERNS.some((p) => p.test(reason));
}
