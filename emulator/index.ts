import { registerApiRoutes } from './api-routes';
import { startFace, type RunningFace } from './face';
import { LumaService } from './luma-service';
import { API_PREFIX, resolveEmulatorOptions, type EmulatorOptions } from './settings';

export { emulatorOptionsFromEnv, DEFAULT_EMULATOR_KEY, EMULATOR_ENV, type EmulatorOptions } from './settings';
export type { FaultConfig, ActiveFaults } from './faults';
export type { EmulatorStats } from './luma-service';
export { setFaults, clearFaults, getFaults, getStats, getFalStats, resetStats, setBalance } from './admin';
export { startFalEmulator, type RunningFalEmulator, type FalEmulatorOptions } from './fal';

/** A running emulator of Luma; `baseUrl` is for `new LumaAI({ baseURL })`, e.g. http://127.0.0.1:PORT/dream-machine/v1. */
export type RunningEmulator = RunningFace<EmulatorOptions>;

/** Starts an emulator of the Luma Dream Machine API in this process; `port: 0` picks a free port. */
export function startEmulator(options: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  return startFace({
    options: resolveEmulatorOptions(options),
    tempPrefix: 'luma-emulator-',
    service: (resolved, dataDir) => new LumaService(resolved, dataDir),
    routes: (app, service, closing) => registerApiRoutes(app, service, API_PREFIX, closing),
    baseUrl: (origin) => `${origin}${API_PREFIX}`,
  });
}
