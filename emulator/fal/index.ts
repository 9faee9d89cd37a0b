import { startFace, type RunningFace } from '../face';
import { registerFalRoutes } from './routes';
import { FalService } from './service';
import { resolveFalEmulatorOptions, type FalEmulatorOptions } from './settings';

export {
  DEFAULT_FAL_EMULATOR_KEY,
  FAL_EMULATOR_ENV,
  falEmulatorOptionsFromEnv,
  type FalEmulatorOptions,
} from './settings';
export type { FalEmulatorStats } from './service';

/**
 * A running fal face; `baseUrl` is the provider's `FAL_BASE_URL`: fal's hosts are paths under it
 * (`<baseUrl>/queue.fal.run/…`). The admin endpoints are the Luma face's, under `${origin}/__emulator`.
 */
export type RunningFalEmulator = RunningFace<FalEmulatorOptions>;

/** Starts the fal face of the emulator in this process; `port: 0` picks a free port. */
export function startFalEmulator(options: Partial<FalEmulatorOptions> = {}): Promise<RunningFalEmulator> {
  return startFace({
    options: resolveFalEmulatorOptions(options),
    tempPrefix: 'fal-emulator-',
    service: (resolved, dataDir) => new FalService(resolved, dataDir),
    routes: (app, service, closing) => registerFalRoutes(app, service, closing),
    baseUrl: (origin) => origin,
  });
}
