import LumaAI from 'lumaai';
import { createFalProvider } from './fal';
import { createLumaProvider } from './luma';
import type { ProviderRegistry, ProviderTimings } from './types';

export type { ProviderRegistry, VideoProvider, ProviderGeneration, PreparedCreate } from './types';
export { createLumaProvider } from './luma';
export { createFalProvider } from './fal';

/** One account's settings as the registry takes them (workers pass them from config). */
export interface ProviderAccount {
  apiKey?: string;
  baseUrl?: string;
  timings: ProviderTimings;
}

/**
 * The providers of a deployment: one per account with a key. A third provider is one more line here, its module
 * beside these, its models in `common/models.ts` and its prices in `common/pricing.ts` (docs/providers.md).
 */
export function createProviders(options: {
  luma: ProviderAccount;
  fal: ProviderAccount;
  /** Base of Luma's callback URLs (our HTTP server). */
  callbackBaseUrl: string;
}): ProviderRegistry {
  const registry: ProviderRegistry = {};
  if (options.luma.apiKey) {
    registry.luma = createLumaProvider({
      // Every call passes its own timeout and retry count; these defaults only cover calls that do not.
      luma: new LumaAI({ authToken: options.luma.apiKey, baseURL: options.luma.baseUrl, maxRetries: 0 }),
      callbackBaseUrl: options.callbackBaseUrl,
      timings: options.luma.timings,
    });
  }
  if (options.fal.apiKey) {
    registry.fal = createFalProvider({
      apiKey: options.fal.apiKey,
      baseUrl: options.fal.baseUrl,
      timings: options.fal.timings,
    });
  }
  return registry;
}
