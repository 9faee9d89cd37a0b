import type { SweptGeneration } from '../common/generations';
import type { PaidGeneration } from '../common/progress';

/** The paid list of what a sweep found: stopped and completed generations cost their price, failed ones nothing. */
export function paidFromSweep(
  found: SweptGeneration[],
  what: (g: SweptGeneration) => string,
  price: (g: SweptGeneration) => number
): PaidGeneration[] {
  return found.map((g) =>
    g.state === 'failed'
      ? { generationId: g.generationId, what: what(g), credits: 0, refunded: true }
      : { generationId: g.generationId, what: what(g), credits: price(g) }
  );
}
