import { setTimeout as sleep } from 'node:timers/promises';
import { postJson } from './http-client';

/** Luma's published callback behaviour: 3 tries, 100 ms apart, 5 s each. */
export const CALLBACK_POLICY = { attempts: 3, intervalMs: 100, timeoutMs: 5000 } as const;

/**
 * POSTs a generation to its callback URL the way Luma does. Resolves true on a 2xx, false when every try failed;
 * never throws, because a broken callback receiver must not break the generation.
 */
export async function deliverCallback(url: string, body: unknown, signal: AbortSignal): Promise<boolean> {
  for (let attempt = 1; attempt <= CALLBACK_POLICY.attempts; attempt++) {
    if (signal.aborted) return false;
    try {
      const status = await postJson(url, body, { timeoutMs: CALLBACK_POLICY.timeoutMs, signal });
      if (status >= 200 && status < 300) return true;
    } catch {
      // Unreachable or slow receiver: try again, as the real service does.
    }
    if (attempt < CALLBACK_POLICY.attempts) {
      try {
        await sleep(CALLBACK_POLICY.intervalMs, undefined, { signal });
      } catch {
        return false;
      }
    }
  }
  return false;
}
