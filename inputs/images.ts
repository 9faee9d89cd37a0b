import { open } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { FailureType, nonRetryable } from '../common/failures';

/** Largest image we decode: a 16000×16000 PNG of 747 KB would otherwise take about 900 MB of memory. */
export const MAX_INPUT_PIXELS = 50_000_000;

/** Image formats accepted as input (sharp's `metadata().format` names). */
export const ACCEPTED_FORMATS: readonly string[] = ['jpeg', 'png', 'webp'];

// Only JPEG, PNG and WebP bytes ever reach sharp from here (see refuseForeignBytes), so no other decoder can be
// reached even in a process that keeps all of them (a backend using the client library). Worker processes also
// block every other libvips loader (activities/images.ts).

/** How every input image is opened: the pixel limit, and 'error' (refuses truncated and corrupt pixel data but lets
 * through warnings, such as odd EXIF, that phone JPEGs often carry). */
export const SAFE_IMAGE_INPUT: SharpOptions = { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', autoOrient: true };

/** What an input image is, read from its header. */
export interface InputImage {
  /** `jpeg`, `png` or `webp`. */
  sourceFormat: string;
  /** Width as displayed (after EXIF rotation). */
  sourceWidth: number;
  /** Height as displayed (after EXIF rotation). */
  sourceHeight: number;
}

/**
 * Checks an input image from its first bytes and its header only, never decoding its pixels: a JPEG, PNG or WebP
 * by its signature (so SVG, GIF, HTML and random bytes are refused before any decoder sees them), one frame only,
 * at most {@link MAX_INPUT_PIXELS}. Refusals are non-retryable BadInput failures that start with the file's name.
 */
export async function inspectImageFile(inputPath: string): Promise<InputImage> {
  const name = path.basename(inputPath);
  await refuseForeignBytes(inputPath, name);
  let meta: Metadata;
  try {
    // The header only, without the pixel limit, so a bomb is refused below with its size.
    meta = await sharp(inputPath, { ...SAFE_IMAGE_INPUT, limitInputPixels: false }).metadata();
  } catch (err) {
    throw imageRefusal(name, err);
  }
  if (!meta.format || !ACCEPTED_FORMATS.includes(meta.format)) {
    throw nonRetryable(
      FailureType.BadInput,
      `${name}: ${meta.format ?? 'unknown'} images are not accepted (JPEG, PNG, WebP only)`
    );
  }
  if ((meta.pages ?? 1) > 1) {
    throw nonRetryable(
      FailureType.BadInput,
      `${name}: an animated image (${meta.pages} frames); give a still JPEG, PNG or WebP`
    );
  }
  const { width, height } = meta.autoOrient;
  if (width * height > MAX_INPUT_PIXELS) {
    throw nonRetryable(FailureType.BadInput, `${name}: ${width}x${height} is more than ${MAX_INPUT_PIXELS / 1e6} Mpx`);
  }
  return { sourceFormat: meta.format, sourceWidth: width, sourceHeight: height };
}

/**
 * {@link inspectImageFile}, then a decode of every pixel row into a thumbnail, so a truncated or corrupt file is
 * refused too (the client library checks local keyframes with this before a story starts).
 */
export async function checkImageFile(inputPath: string): Promise<InputImage> {
  const image = await inspectImageFile(inputPath);
  try {
    await sharp(inputPath, SAFE_IMAGE_INPUT).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  } catch (err) {
    throw imageRefusal(path.basename(inputPath), err);
  }
  return image;
}

/** The BadInput failure for an image sharp could not open or decode, naming the file and why. */
export function imageRefusal(name: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  if (/missing|ENOENT/i.test(reason)) return nonRetryable(FailureType.BadInput, `${name}: file not found`);
  if (/unsupported image format|blocked/i.test(reason)) {
    return nonRetryable(FailureType.BadInput, `${name}: not a JPEG, PNG or WebP image`);
  }
  if (/pixel limit/i.test(reason)) {
    return nonRetryable(FailureType.BadInput, `${name}: more than ${MAX_INPUT_PIXELS / 1e6} Mpx`);
  }
  return nonRetryable(FailureType.BadInput, `${name}: cannot be decoded (${reason})`);
}

/** Refuses a file whose first bytes are not a JPEG, PNG or WebP signature, saying what it looks like instead. */
async function refuseForeignBytes(inputPath: string, name: string): Promise<void> {
  let head: Buffer;
  try {
    const file = await open(inputPath, 'r');
    try {
      const buffer = Buffer.alloc(256);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw nonRetryable(FailureType.BadInput, `${name}: file not found`);
    if (code === 'EACCES' || code === 'EPERM') throw nonRetryable(FailureType.BadInput, `${name}: not readable`);
    if (code === 'EISDIR') throw nonRetryable(FailureType.BadInput, `${name}: a directory, not an image`);
    throw err;
  }
  if (imageSignature(head)) return;
  const looks = describeBytes(head);
  throw nonRetryable(FailureType.BadInput, `${name}: ${looks}, not a JPEG, PNG or WebP image`);
}

function imageSignature(head: Buffer): 'jpeg' | 'png' | 'webp' | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

function describeBytes(head: Buffer): string {
  if (head.length === 0) return 'an empty file';
  const text = head.toString('latin1');
  if (/^GIF8[79]a/.test(text)) return 'a GIF image';
  if (/^II\*\0|^MM\0\*/.test(text)) return 'a TIFF image';
  if (/^%PDF/.test(text)) return 'a PDF document';
  // SVG is XML: refused unparsed, so its external references (xlink:href, <image>, entities) are never followed.
  if (/^(\uFEFF|\xEF\xBB\xBF)?\s*</.test(text)) return /<svg/i.test(text) ? 'an SVG document' : 'an XML/HTML document';
  return 'unknown bytes';
}
