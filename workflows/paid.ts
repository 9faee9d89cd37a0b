import type { SweptGeneration } from '../common/generations';
import { billsStopped } from '../common/models';
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
