import { Context } from '@temporalio/activity';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookEvent } from '../common/messages';

/** What the webhook activities need. */
export interface WebhookDeps {
  /** Receivers; none means every notification is a no-op. */
  urls: string[];
  /** HMAC-SHA256 key of `X-Reelflow-Signature`; unset sends unsigned deliveries. */
  secret?: string;
  /** Injected in tests; default the global fetch. */
  fetchImpl?: typeof fetch;
  /** Time limit of one POST. */
  timeoutMs?: number;
  /**
   * The URL a receiver is sent for a story's file: events in history carry canonical URLs, and this mints the
   * signed, expiring one at delivery (workers: `WEBHOOK_URL_TTL_SECONDS` of assets/). Unset: sent as they are.
   */
  receiverUrl?: (url: string) => Promise<string>;
}

/** Header carrying `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = 'X-Reelflow-Signature';
/** Header carrying the event id (the same as the body's `id`). */
export const EVENT_ID_HEADER = 'X-Reelflow-Event-Id';

/** The signature header value of a body: `sha256=<hex>`. */
export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Checks a delivery's signature header against its raw body, in constant time (for receivers and tests). */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const given = Buffer.from(header.trim());
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Progress kept in heartbeat details, so a retried attempt skips the URLs already delivered to. */
interface DeliveryProgress {
  delivered: string[];
}

/** Builds the webhook activity: one POST per URL, signed, retried by Temporal until every URL took it. */
export function createWebhookActivities(deps: WebhookDeps) {
  const fetchImpl = deps.fetchImpl ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;

  return {
    /**
     * POSTs `event` as JSON to every configured URL with `X-Reelflow-Signature`; throws when any URL fails (not
     * 2xx, timeout, network error) so Temporal retries, and a retry only goes to the URLs still missing.
     */
    async notifyWebhooks(event: WebhookEvent): Promise<{ delivered: number }> {
      if (deps.urls.length === 0) return { delivered: 0 };
      const context = currentContext();
      const previous = context?.info.heartbeatDetails as DeliveryProgress | undefined;
      const delivered = new Set(previous?.delivered ?? []);
      const outgoing =
        event.video && deps.receiverUrl ? { ...event, video: await deps.receiverUrl(event.video) } : event;
      const body = JSON.stringify(outgoing);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'reelflow-webhooks',
        [EVENT_ID_HEADER]: event.id,
      };
      if (deps.secret) headers[SIGNATURE_HEADER] = signWebhookBody(deps.secret, body);

      const failures: string[] = [];
      await Promise.all(
        deps.urls
          .filter((url) => !delivered.has(url))
          .map(async (url) => {
            const signals = [AbortSignal.timeout(timeoutMs)];
            if (context) signals.push(context.cancellationSignal);
            try {
              // Redirects are not followed: a receiver moved elsewhere is a configuration error, not a new target.
              const res = await fetchImpl(url, {
                method: 'POST',
                headers,
                body,
                redirect: 'manual',
                signal: AbortSignal.any(signals),
              });
              await res.body?.cancel().catch(() => undefined);
              if (res.status >= 200 && res.status < 300) delivered.add(url);
              else failures.push(`${url}: HTTP ${res.status}`);
            } catch (err) {
              failures.push(`${url}: ${(err as Error).message}`);
            }
          })
      );
      context?.heartbeat({ delivered: [...delivered] } satisfies DeliveryProgress);
      if (failures.length) {
        // A plain Error: Temporal retries it under the workflow's retry policy.
        throw new Error(`webhook ${event.type} for ${event.storyId} not delivered to ${failures.join('; ')}`);
      }
      return { delivered: delivered.size };
    },
  };
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (a plain unit test): no heartbeats, no cancellation
  }
}
