import { getStats } from '../../emulator/admin';
import type { LedgerEntry } from '../../emulator/luma-service';
import type { TestStack } from './stack';

/** What the emulator's ledger says one story paid: every idempotency key of the story and their net charge. */
export async function ledgerOf(
  stack: Pick<TestStack, 'emulator' | 'lumaKey' | 'config'>,
  storyId: string
): Promise<{ keys: Record<string, LedgerEntry>; netCredits: number; paidTwice: string[] }> {
  const account = (await getStats(stack.emulator.origin)).keys[stack.lumaKey];
  // Keys are `<story>/<run>/...`, and story ids have no '/', so the prefix is exact.
  const keys = Object.fromEntries(Object.entries(account.ledger).filter(([key]) => key.startsWith(`${storyId}/`)));
  const cents = Object.values(keys).reduce((sum, e) => sum + e.netCents, 0);
  return {
    keys,
    netCredits: Math.round((cents / (stack.config.prices.dollarsPerCredit * 100)) * 10_000) / 10_000,
    paidTwice: Object.entries(keys)
      .filter(([, e]) => e.billed > 1)
      .map(([key]) => key),
  };
}

/** Every paid call of the story billed exactly once, and the story's credits equal what the emulator charged. */
export async function expectPaidOnceAndCounted(
  stack: Pick<TestStack, 'emulator' | 'lumaKey' | 'config'>,
  result: { storyId: string; credits: number }
): Promise<void> {
  const ledger = await ledgerOf(stack, result.storyId);
  expect(ledger.paidTwice).toEqual([]);
  expect(result.credits).toBeCloseTo(ledger.netCredits, 4);
}
