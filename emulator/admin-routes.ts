import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ApiError } from './api-error';
import type { FaultInjector } from './faults';

/** Path prefix of the admin endpoints; outside the API path, so no Luma client ever calls them by accident. */
export const ADMIN_PREFIX = '/__emulator';

const balanceSchema = z.object({ key: z.string().min(1), cents: z.number().min(0) }).strict();

/** What the admin endpoints drive: any emulator face (Luma's, fal's). */
export interface AdminService {
  readonly faults: FaultInjector;
  stats(): unknown;
  resetStats(): void;
  setBalance(key: string, cents: number): boolean;
}

/**
 * Registers the admin endpoints (faults, stats, balances). They take no key: the emulator is a local test tool and
 * must never be reachable from outside (it listens on 127.0.0.1 by default).
 */
export function registerAdminRoutes(app: FastifyInstance, service: AdminService): void {
  app.get(`${ADMIN_PREFIX}/faults`, async () => service.faults.current());
  app.post(`${ADMIN_PREFIX}/faults`, async (req) => service.faults.set(req.body));
  app.delete(`${ADMIN_PREFIX}/faults`, async () => service.faults.clear());
  app.get(`${ADMIN_PREFIX}/stats`, async () => service.stats());
  app.post(`${ADMIN_PREFIX}/reset-stats`, async () => {
    service.resetStats();
    return service.stats();
  });
  app.post(`${ADMIN_PREFIX}/balance`, async (req) => {
    const { key, cents } = balanceSchema.parse(req.body);
    if (!service.setBalance(key, cents)) throw new ApiError(404, `no such key: ${key}`);
    return { key, balanceCents: cents };
  });
}
