import { z } from 'zod';
import {
  ASPECT_RATIOS,
  GENERATION_FAMILIES,
  IMAGE_MODELS,
  IMAGE_PROVIDER,
  PROVIDER_IDS,
  PROVIDERS,
  RESOLUTIONS,
  VIDEO_MODEL_CATALOG,
  type GenerationFamily,
  type ProviderId,
  type VideoModelInfo,
} from './models';
import { clipCredits, creditDollars, imageCredits, type PriceTable } from './pricing';

// What `reelflow models` and `GET /v1/models` answer: every provider and model with what it can make and what it
// costs under the deployment's price table and limits. One schema: the HTTP response schema, its OpenAPI component,
// and the CLI's --json all come from it.

const familyLimits = z.object({ maxInFlight: z.number().int(), createsPerMinute: z.number().int() });

/** One clip price: a start+end clip of this length at this resolution. */
const clipPriceSchema = z.object({
  durationSeconds: z.number(),
  resolution: z.enum(RESOLUTIONS),
  credits: z.number().describe('reelflow credits (one Luma credit)'),
  dollars: z.number(),
});

/** The models listing. */
export const modelListingSchema = z.object({
  dollarsPerCredit: z.number().describe('What one reelflow credit is worth; every price below is counted in them'),
  providers: z.array(
    z.object({
      id: z.enum(PROVIDER_IDS),
      name: z.string(),
      sdk: z.string().describe('The official SDK reelflow drives'),
      billing: z
        .enum(['on-create', 'on-success'])
        .describe(
          'on-create: charged at create, refunded on failure (Luma); on-success: charged for results only (fal)'
        ),
      limits: z
        .partialRecord(z.enum(GENERATION_FAMILIES), familyLimits)
        .describe('The account gate: per family, in flight and creates a minute'),
    })
  ),
  videoModels: z.array(
    z.object({
      id: z.string().describe("reelflow's name: the story's videoModel"),
      provider: z.enum(PROVIDER_IDS),
      providerModel: z.string().describe("The provider's own name (Luma model, fal endpoint)"),
      label: z.string(),
      default: z.boolean(),
      durations: z.array(z.number()),
      resolutions: z.array(z.enum(RESOLUTIONS)),
      aspectRatios: z.array(z.enum(ASPECT_RATIOS)),
      endFrame: z.enum(['optional', 'required']),
      maxPromptLength: z.number().int(),
      notes: z.string().optional(),
      prices: z.array(clipPriceSchema),
    })
  ),
  imageModels: z.array(
    z.object({ id: z.enum(IMAGE_MODELS), provider: z.enum(PROVIDER_IDS), credits: z.number(), dollars: z.number() })
  ),
});
/** The models listing. */
export type ModelListing = z.infer<typeof modelListingSchema>;

/** Builds the listing under a deployment's price table and its accounts' limits. */
export function modelListing(
  prices: PriceTable,
  limits: Record<ProviderId, Partial<Record<GenerationFamily, { maxInFlight: number; createsPerMinute: number }>>>
): ModelListing {
  return {
    dollarsPerCredit: prices.dollarsPerCredit,
    providers: PROVIDER_IDS.map((id) => ({
      id,
      name: PROVIDERS[id].name,
      sdk: PROVIDERS[id].sdk,
      billing: PROVIDERS[id].billing,
      limits: limits[id],
    })),
    videoModels: (VIDEO_MODEL_CATALOG as readonly VideoModelInfo[]).map((m, i) => ({
      id: m.id,
      provider: m.provider,
      providerModel: m.providerModel,
      label: m.label,
      default: i === 0,
      durations: [...m.durations],
      resolutions: [...m.resolutions],
      aspectRatios: [...m.aspectRatios],
      endFrame: m.endFrame,
      maxPromptLength: m.maxPromptLength,
      ...(m.notes && { notes: m.notes }),
      prices: m.durations.flatMap((durationSeconds) =>
        m.resolutions.map((resolution) => {
          const credits = clipCredits(prices, m.id, { durationSeconds, resolution, frame0: true, frame1: true });
          return { durationSeconds, resolution, credits, dollars: creditDollars(prices, credits) };
        })
      ),
    })),
    imageModels: IMAGE_MODELS.map((id) => {
      const credits = imageCredits(prices, id);
      return { id, provider: IMAGE_PROVIDER, credits, dollars: creditDollars(prices, credits) };
    }),
  };
}
