import { getStats } from '../../emulator/admin';
import type { LedgerEntry } from '../../emulator/luma-service';
import type { TestStack } from './stack';

/** Which of the emulator's faces a ledger entry came from. */
export type Face = 'luma' | 'fal';

/**
 * What the emulators' ledgers say one story paid: every idempotency key of the story at each face (Luma's, fal's)
 * and their net charge together, in credits (cents over the story's dollars per credit).
 */
export async function ledgerOf(
  stack: Pick<TestStack, 'emulator' | 'lumaKey' | 'config'> & Partial<Pick<TestStack, 'fal' | 'falKey'>>,
  storyId: string,
  options: { face?: Face } = {}
): Promise<{ keys: Record<string, LedgerEntry & { face: Face }>; netCredits: number; paidTwice: string[] }> {
  const faces: Array<[Face, string, string]> = [['luma', stack.emulator.origin, stack.lumaKey]];
  if (stack.fal && stack.falKey) faces.push(['fal', stack.fal.origin, stack.falKey]);
  const keys: Record<string, LedgerEntry & { face: Face }> = {};
  for (const [face, origin, key] of faces) {
    if (options.face && options.face !== face) continue;
    const account = (await getStats(origin)).keys[key];
    // Keys are `<story>/<run>/...`, and story ids have no '/', so the prefix is exact.
    for (const [k, entry] of Object.entries(account.ledger)) {
      if (k.startsWith(`${storyId}/`)) keys[k] = { ...entry, face };
    }
  }
  const cents = Object.values(keys).reduce((sum, e) => sum + e.netCents, 0);
  return {
    keys,
    netCredits: Math.round((cents / (stack.config.prices.dollarsPerCredit * 100)) * 10_000) / 10_000,
    paidTwice: Object.entries(keys)
      .filter(([, e]) => e.billed > 1)
      .map(([key]) => key),
  };
}

/** Every paid call of the story billed exactly once, and the story's credits equal what the emulators charged. */
export async function expectPaidOnceAndCounted(
  stack: Pick<TestStack, 'emulator' | 'lumaKey' | 'config'> & Partial<Pick<TestStack, 'fal' | 'falKey'>>,
  result: { storyId: string; credits: number }
): Promise<void> {
  const ledger = await ledgerOf(stack, result.storyId);
  expect(ledger.paidTwice).toEqual([]);
  expect(result.credits).toBeCloseTo(ledger.netCredits, 4);
}
