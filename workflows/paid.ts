import type { SubmittedGeneration, SweptGeneration } from '../common/generations';
import { billsStopped, type ProviderId } from '../common/models';
import type { PaidGeneration } from '../common/progress';

/**
 * The paid list of what a sweep found: completed generations cost their price; failed ones nothing; ones stopped in
 * flight their price where the provider bills on create (Luma), nothing where it bills results only (fal).
 */
export function paidFromSweep(
  found: SweptGeneration[],
  what: (g: SweptGeneration) => string,
  price: (g: SweptGeneration) => number
): PaidGeneration[] {
  return found.map((g) => {
    const provider = g.provider ?? 'luma';
    const where = g.provider ? { provider, model: g.price.model } : {};
    const unbilled = g.state === 'failed' || (g.state === 'deleted' && !billsStopped(provider));
    return unbilled
      ? { generationId: g.generationId, what: what(g), credits: 0, refunded: true, ...where }
      : { generationId: g.generationId, what: what(g), credits: price(g), ...where };
  });
}

/**
 * The paid list of an accepted create: its generation and every duplicate of its key (deleted by the create's second
 * look), each at the price unless the provider did not bill it.
 */
export function paidForCreate(
  submitted: SubmittedGeneration,
  what: string,
  credits: number,
  where?: { provider: ProviderId; model: string }
): PaidGeneration[] {
  return [submitted.generationId, ...submitted.duplicates].map((generationId, i) => {
    const unbilled = i > 0 && submitted.unbilledDuplicates?.includes(generationId);
    return {
      generationId,
      what: i === 0 ? what : `${what} (duplicate, deleted)`,
      credits: unbilled ? 0 : credits,
      ...(unbilled && { refunded: true }),
      ...where,
    };
  });
}
