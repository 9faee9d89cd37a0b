import type { FastifyInstance } from 'fastify';
import type { ReelflowClient } from '../client';

// Luma's callbacks carry no signature and are tried only 3 times, so they are hints, never facts: a callback that
// says a generation settled makes its clip workflow read the generation at once (the read decides), which ends the
// wait up to a polling interval sooner and hands the provider slot on sooner. Polling alone still finishes without.

/** What the callback route needs: somewhere to pass a settled generation on (a ReelflowClient). */
export type CallbackClient = Partial<Pick<ReelflowClient, 'generationSettled'>>;

/** Callbacks passed on per key: each is an event in the clip's history, and unsigned ones could come by the thousand. */
const PASSED_PER_KEY = 3;
/** Keys remembered; a flood of made-up keys can push out real ones, for a few more events each round. */
const REMEMBERED_KEYS = 10_000;

/** Registers `POST /v1/luma/callback` (public: Luma calls it with the key in its query). */
export function registerProviderCallbacks(app: FastifyInstance, deps: { client: CallbackClient }): void {
  const passed = new Map<string, number>();
  const mayPass = (key: string): boolean => {
    const count = passed.get(key) ?? 0;
    if (count >= PASSED_PER_KEY) return false;
    passed.set(key, count + 1);
    // A Map iterates in insertion order: the first key is the oldest.
    if (passed.size > REMEMBERED_KEYS) passed.delete(passed.keys().next().value!);
    return true;
  };

  app.post('/v1/luma/callback', { config: { permission: 'public' } }, async (request, reply) => {
    const key = (request.query as { key?: unknown }).key;
    const body = request.body as { id?: unknown; state?: unknown } | undefined;
    const id = typeof body?.id === 'string' ? body.id : undefined;
    const state = typeof body?.state === 'string' ? body.state : undefined;
    request.log.info({ key, id, state }, 'luma callback');
    const settled = state === 'completed' || state === 'failed';
    if (typeof key === 'string' && id && settled && deps.client.generationSettled && mayPass(key)) {
      try {
        const told = await deps.client.generationSettled(key, id);
        request.log.info({ key, id, told }, told ? 'told the clip workflow' : 'no clip workflow waits for it');
      } catch (err) {
        // Polling finds it all the same; Luma would only try again, to no better end.
        request.log.warn({ key, id, err: String(err) }, 'could not pass the callback on');
      }
    }
    return reply.code(204).send();
  });
}
