import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { z } from 'zod';
import type { ProbedVideo } from './ffmpeg';

// What ingestClip learnt of a clip when it checked it, stored beside the clip (`<clip>.facts.json`) so the stitch
// need not run ffprobe on every clip again. The facts hold only for the very bytes probed: the clip's size and
// sha256 are recorded, and a clip whose bytes differ (or that has no facts, like clips of runs from before) is
// probed as before.

const packetListSchema = z.object({
  timeBase: z.string(),
  extradataHash: z.string(),
  durationSeconds: z.number(),
  packets: z.array(z.object({ pts: z.number(), dts: z.number(), key: z.boolean() })),
});

const probedVideoSchema = z.object({
  info: z.object({
    path: z.string(),
    durationSeconds: z.number().positive(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    videoCodec: z.string(),
    pixFmt: z.string(),
    fps: z.number(),
    audioCodec: z.string().optional(),
    audioDurationSeconds: z.number().optional(),
    formatName: z.string(),
  }),
  fpsRational: z.string(),
  sampleAspectRatio: z.string(),
  extradataHash: z.string(),
  timeBase: z.string(),
  streamIndex: z.number().int().min(0),
  videoStartSeconds: z.number(),
  fileStartSeconds: z.number(),
  packets: packetListSchema.optional(),
}) satisfies z.ZodType<ProbedVideo>;

/** The facts file: the probe of the clip, and which bytes it is a probe of. */
const clipFactsFileSchema = z.object({
  version: z.literal(2),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  probed: probedVideoSchema,
});

/** The name of a clip's facts in the store, beside the clip. */
export function clipFactsName(clipName: string): string {
  return `${clipName}.facts.json`;
}

/** Writes to `factsPath` what a probe of the local file `clipPath` found, tied to the file's size and sha256. */
export async function writeClipFacts(clipPath: string, probed: ProbedVideo, factsPath: string): Promise<void> {
  const { size, sha256 } = await fingerprint(clipPath);
  const file: z.infer<typeof clipFactsFileSchema> = { version: 2, size, sha256, probed };
  await fs.writeFile(factsPath, JSON.stringify(file));
}

/**
 * The facts in `factsPath` for the local file `clipPath`, or undefined when they do not parse or are not those of
 * its bytes (so the caller probes it). The facts then name `clipPath`.
 */
export async function readClipFacts(factsPath: string, clipPath: string): Promise<ProbedVideo | undefined> {
  try {
    const parsed = clipFactsFileSchema.safeParse(JSON.parse(await fs.readFile(factsPath, 'utf8')));
    if (!parsed.success) return undefined;
    const { size, sha256, probed } = parsed.data;
    const actual = await fingerprint(clipPath);
    if (size !== actual.size || sha256 !== actual.sha256) return undefined;
    return { ...probed, info: { ...probed.info, path: clipPath } };
  } catch {
    return undefined;
  }
}

async function fingerprint(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}
