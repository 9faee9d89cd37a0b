import { condition, log, upsertSearchAttributes } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../../common/constants';
import { failure, FailureType } from '../../common/failures';
import type { PaidGeneration } from '../../common/progress';
import { roundMoney } from '../../common/pricing';
import { recordCredits } from '../metrics';
import { doneWaiting, showDetails, waitingFor, type StoryRun } from './run';

/** Credits spent plus credits set aside for paid calls under way. */
function committed(run: StoryRun): number {
  return run.state.progress.cost.used + run.reserved;
}

/**
 * Waits until `credits` more fit the budget, or fails the story (`onBudgetExceeded: fail`). Every paid call checks
 * here first, so a story never pays past its budget.
 */
export async function ensureBudget(run: StoryRun, credits: number, what: string): Promise<void> {
  const cost = run.state.progress.cost;
  const fits = () => cost.budgetCredits === undefined || committed(run) + credits <= cost.budgetCredits + 1e-9;
  if (fits()) return;
  const message =
    `${what} needs ${roundMoney(credits)} credits, but ${roundMoney(committed(run))} of the budget of ` +
    `${cost.budgetCredits} credits are spent or reserved; raise the budget or lower the story's cost`;
  if (run.spec.onBudgetExceeded === 'fail') {
    throw failure(FailureType.BudgetExceeded, message);
  }
  log.info('waiting for a raised budget', { storyId: run.storyId, what, credits });
  cost.waitingForBudget = true;
  waitingFor(run, 'budget', `a raised budget (raiseBudget): ${message}`);
  await condition(fits);
  cost.waitingForBudget = false;
  doneWaiting(run, 'budget');
}

/** Sets `credits` aside for a paid call (after the budget check); give them back with {@link unreserve}. */
export async function reserve(run: StoryRun, credits: number, what: string): Promise<void> {
  await ensureBudget(run, credits, what);
  run.reserved += credits;
}

/** Gives back credits set aside by {@link reserve}; what was really paid is recorded by {@link recordPaid}. */
export function unreserve(run: StoryRun, credits: number): void {
  run.reserved = Math.max(0, run.reserved - credits);
}

/**
 * Records generations the story paid for (a later record of the same id wins: a refund, a deletion). The story's
 * credits are the sum of this ledger, so they equal what the provider charged.
 */
export function recordPaid(run: StoryRun, paid: PaidGeneration[]): void {
  if (paid.length === 0) return;
  for (const p of paid) run.state.ledger[p.generationId] = { ...run.state.ledger[p.generationId], ...p };
  const cost = run.state.progress.cost;
  const used = roundMoney(Object.values(run.state.ledger).reduce((sum, p) => sum + p.credits, 0));
  if (used === cost.used) return;
  recordCredits(roundMoney(used - cost.used));
  cost.used = used;
  cost.dollars = roundMoney(used * run.prices.dollarsPerCredit);
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.creditsUsed, value: used }]);
  showDetails(run);
}
