import sharp from 'sharp';

/** Decoded inputs larger than this are refused (sharp's own default, ~268 Mpx, can exhaust memory). */
const MAX_INPUT_PIXELS = 50_000_000;
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * Decodes a keyframe (JPEG, PNG or WebP only) and writes it as an RGB PNG of exactly width x height, cover-cropped
 * around the centre, so the clip's boundary frame is this picture. Throws on anything undecodable.
 */
export async function fitFrame(input: Buffer | string, width: number, height: number, outPng: string): Promise<void> {
  const image = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' });
  const { format } = await image.metadata();
  if (!format || !ACCEPTED_FORMATS.has(format)) throw new Error(`unsupported image format: ${format ?? 'unknown'}`);
  await image
    .rotate()
    .resize(width, height, { fit: 'cover', position: 'centre' })
    .flatten({ background: '#000000' })
    .png({ compressionLevel: 1 })
    .toFile(outPng);
}
