import type { ReelflowClient } from '../client/reelflow-client';
import type { ProcessStack } from '../dev/process-stack';
import { getStats } from '../emulator/admin';
import type { LedgerEntry, StatsGeneration } from '../emulator/luma-service';
import type { HttpDoor } from './http';
import type { Profile } from './profiles';

/** Everything a part of the suite works with. */
export interface ChaosContext {
  stack: ProcessStack;
  /** The client library door, in this process. */
  client: ReelflowClient;
  /** The HTTP API door. */
  http: HttpDoor;
  profile: Profile;
  seed: number;
  /** The run's seeded generator: the same seed draws the same stories, kills and corpus. */
  random: () => number;
  tokens: { backend: string; reviewer: string };
  /** REELFLOW_REVIEW_SECRET of the stack (the suite mints expired links with it). */
  reviewSecret: string;
  /** Whether every process runs in a network namespace with loopback only, so no case can send traffic off it. */
  loopbackOnly: boolean;
  /** The public-looking address on the namespace's loopback (see netns.ts), when there is one. */
  publicAlias?: string;
  /** A progress line on stdout. */
  log(message: string): void;
}

/** What the emulator's ledger says a set of stories paid. */
export interface LedgerFacts {
  /** Idempotency keys with more than one billed generation. */
  paidTwice: string[];
  /** Charged minus refunded, in credits. */
  netCredits: number;
  /** Everything charged, refunds not deducted, in credits: money that moved before anything was given back. */
  grossCredits: number;
  /** Generations billed. */
  billed: number;
}

/** Reads the emulator's ledger for the stories whose ids are given (keys are `<story>/<run>/…`). */
export async function ledgerOf(ctx: ChaosContext, storyIds: Iterable<string>): Promise<LedgerFacts> {
  const account = (await getStats(ctx.stack.emulatorOrigin)).keys[ctx.stack.lumaKey];
  return ledgerFromAccount(account, storyIds, ctx.stack.config.prices.dollarsPerCredit);
}

/** The same as {@link ledgerOf} over an already fetched account. */
export function ledgerFromAccount(
  account: { ledger: Record<string, LedgerEntry>; generations: StatsGeneration[] },
  storyIds: Iterable<string>,
  dollarsPerCredit: number
): LedgerFacts {
  const prefixes = [...storyIds].map((id) => `${id}/`);
  const mine = (key: string) => prefixes.some((p) => key.startsWith(p));
  const entries = Object.entries(account.ledger).filter(([key]) => mine(key));
  const ids = new Set(entries.flatMap(([, e]) => e.generationIds));
  const grossCents = account.generations.filter((g) => ids.has(g.id)).reduce((sum, g) => sum + g.cost_cents, 0);
  const netCents = entries.reduce((sum, [, e]) => sum + e.netCents, 0);
  const credits = (cents: number) => Math.round((cents / (dollarsPerCredit * 100)) * 10_000) / 10_000;
  return {
    paidTwice: entries.filter(([, e]) => e.billed > 1).map(([key]) => key),
    netCredits: credits(netCents),
    grossCredits: credits(grossCents),
    billed: entries.reduce((sum, [, e]) => sum + e.billed, 0),
  };
}

/** A number in [lo, hi) from the run's generator. */
export function between(random: () => number, lo: number, hi: number): number {
  return lo + random() * (hi - lo);
}

/** Sleeps `ms`. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
