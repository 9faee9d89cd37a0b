import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { writeAtomically } from './atomic-write';
import type { ProbedVideo } from './ffmpeg';

// What ingestClip learnt of a clip when it checked it, kept beside the clip (`<clip>.facts.json`) so the stitch need
// not run ffprobe on every clip again. The facts hold only while the file is the one probed: its size and mtime are
// recorded, and a clip that changed since (or has no facts, like clips of runs from before) is probed as before.

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

/** The sidecar file: the probe of the clip, and which bytes it is a probe of. */
const clipFactsFileSchema = z.object({
  version: z.literal(1),
  size: z.number().int().min(0),
  mtimeMs: z.number(),
  probed: probedVideoSchema,
});

/** Where the facts of `clipPath` are kept. */
export function clipFactsPath(clipPath: string): string {
  return `${clipPath}.facts.json`;
}

/** Records what a probe of `clipPath` (already in its final place) found, tied to the file's size and mtime. */
export async function writeClipFacts(clipPath: string, probed: ProbedVideo): Promise<void> {
  const stat = await fs.stat(clipPath);
  const file: z.infer<typeof clipFactsFileSchema> = {
    version: 1,
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    probed: { ...probed, info: { ...probed.info, path: clipPath } },
  };
  await writeAtomically(clipFactsPath(clipPath), (tmp) => fs.writeFile(tmp, JSON.stringify(file)));
}

/**
 * The facts recorded for `clipPath`, or undefined when there are none, they do not parse, or the file is no longer
 * the one probed (so the caller probes it).
 */
export async function readClipFacts(clipPath: string): Promise<ProbedVideo | undefined> {
  try {
    const [text, stat] = await Promise.all([fs.readFile(clipFactsPath(clipPath), 'utf8'), fs.stat(clipPath)]);
    const parsed = clipFactsFileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return undefined;
    const { size, mtimeMs, probed } = parsed.data;
    if (size !== stat.size || mtimeMs !== stat.mtimeMs) return undefined;
    return { ...probed, info: { ...probed.info, path: clipPath } };
  } catch {
    return undefined;
  }
}
