import { imageCredits, roundMoney, videoCredits, type PriceTable } from '../common/pricing';
import type { GenerationSpec } from './generation';

/** What a generation costs in USD cents, by the shared price table. */
export function generationCostCents(spec: GenerationSpec, prices: PriceTable): number {
  const credits =
    spec.kind === 'image'
      ? imageCredits(prices, spec.model)
      : videoCredits(prices, {
          durationSeconds: spec.durationSeconds,
          resolution: spec.resolution,
          frame0: spec.frame0 !== undefined,
          frame1: spec.frame1 !== undefined,
        });
  // Rounded so that sums of fractional cents (e.g. 0.8 credits * $0.05) do not drift.
  return roundMoney(credits * prices.dollarsPerCredit * 100);
}
