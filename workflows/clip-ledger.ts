import { isRefusal } from '../common/failures';
import type { SubmittedGeneration, SweptGeneration } from '../common/generations';
import { billsStopped, providerName, type ProviderId } from '../common/models';
import type { ClipAttempt, PaidGeneration } from '../common/progress';
import type { GenerationOutcome } from './generation';
import { paidForCreate, paidFromSweep } from './paid';

// What one clip attempt paid and how it stands, kept apart from the steps that change it (workflows/clip.ts), so
// the money rules of an attempt read in one place: what a create costs, its duplicates, refunds, stopped ones.

/** One attempt's record and the generations it paid for (plain data: it goes to the parent as is). */
export interface AttemptLedger {
  attempt: ClipAttempt;
  paid: PaidGeneration[];
  provider: ProviderId;
  model: string;
  /** What the ledger's lines say they paid for, e.g. `shot 2 attempt 1`. */
  what: string;
  creditsPerAttempt: number;
}

/** A new attempt's ledger: waiting for a slot, nothing paid. */
export function openLedger(o: Omit<AttemptLedger, 'attempt' | 'paid'> & { attempt: number; fallback?: boolean }) {
  const { attempt: n, fallback, ...rest } = o;
  const where = { provider: o.provider, model: o.model };
  const attempt: ClipAttempt = {
    attempt: n,
    ...where,
    ...(fallback && { fallback: true }),
    state: 'waiting-for-slot',
    credits: 0,
  };
  return { ...rest, attempt, paid: [] as PaidGeneration[] } satisfies AttemptLedger;
}

/** Records an accepted create: the attempt dreams, it and every duplicate of its key are paid (unless unbilled). */
export function recordSubmitted(ledger: AttemptLedger, submitted: SubmittedGeneration): void {
  const { attempt, paid, what, creditsPerAttempt: credits } = ledger;
  Object.assign(attempt, { generationId: submitted.generationId, state: 'dreaming', credits });
  paid.push(...paidForCreate(submitted, what, credits, { provider: ledger.provider, model: ledger.model }));
  if (submitted.duplicates.length) attempt.duplicates = submitted.duplicates;
}

/** A generation stopped in flight costs nothing where the provider bills results only (fal). */
export function recordStopped(ledger: AttemptLedger, generationId: string): void {
  if (billsStopped(ledger.provider)) return;
  refund(ledger, generationId);
  ledger.attempt.credits = ledger.paid.reduce((sum, p) => sum + p.credits, 0);
}

/**
 * Records a generation that ended without a clip (failed, timed out, unknown to the provider). Returns whether the
 * provider refused the content, which no further attempt with the same prompt and frames can help.
 */
export function recordNoClip(ledger: AttemptLedger, outcome: Exclude<GenerationOutcome, { state: 'completed' }>) {
  const { attempt } = ledger;
  if (outcome.state === 'failed') {
    // Failed generations are refunded; the attempt is listed with 0 credits.
    Object.assign(attempt, { state: 'failed', credits: 0, failureReason: outcome.failureReason });
    refund(ledger, outcome.generationId);
    return isRefusal(outcome.failureReason);
  }
  if (outcome.state === 'timed-out') {
    const reason = `no result within the story's generation timeout; the generation was stopped`;
    Object.assign(attempt, { state: 'timed-out', failureReason: reason });
    return false;
  }
  Object.assign(attempt, {
    state: 'failed',
    failureReason: `${providerName(ledger.provider)} no longer knows generation ${outcome.generationId}`,
  });
  return false;
}

/** Records what a sweep found of a create cancelled on the wire: every generation of the key is paid. */
export function recordSwept(ledger: AttemptLedger, found: SweptGeneration[]): void {
  ledger.paid.push(
    ...paidFromSweep(
      found,
      () => ledger.what,
      () => ledger.creditsPerAttempt
    )
  );
  ledger.attempt.generationId = found[0]?.generationId;
  ledger.attempt.credits = ledger.paid.reduce((sum, p) => sum + p.credits, 0);
}

function refund(ledger: AttemptLedger, generationId: string): void {
  for (const p of ledger.paid) if (p.generationId === generationId) Object.assign(p, { credits: 0, refunded: true });
}
