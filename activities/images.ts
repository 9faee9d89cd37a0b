import path from 'node:path';
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import { writeAtomically } from './atomic-write';
import { FailureType, nonRetryable } from '../common/failures';
import { imageRefusal, inspectImageFile, SAFE_IMAGE_INPUT } from '../inputs';

export { ACCEPTED_FORMATS, MAX_INPUT_PIXELS } from '../inputs';

// An allow-list of decoders for the worker process (libvips keeps it globally): GIF, TIFF, HEIF, PDF, ImageMagick and
// any loader a future libvips adds stay unreachable. SVG stays reachable because other code in the same process
// draws SVG (the emulator's prompt pictures, in dev and tests); SVG inputs never reach sharp: inputs/ refuses them by
// their first bytes. The client library's process is left alone: it only ever decodes JPEG, PNG and WebP bytes.
sharp.block({ operation: ['VipsForeignLoad'] });
sharp.unblock({
  operation: ['VipsForeignLoadJpeg', 'VipsForeignLoadPng', 'VipsForeignLoadWebp', 'VipsForeignLoadSvg'],
});
// libvips caches decoded files by name; a keyframe rewritten under the same path must not be served stale.
sharp.cache(false);

/** Result of {@link normalizeImage}. */
export interface NormalizedImage {
  /** Width of the written PNG (the requested width). */
  width: number;
  /** Height of the written PNG (the requested height). */
  height: number;
  /** Format of the input: `jpeg`, `png` or `webp`. */
  sourceFormat: string;
  /** Width of the input as displayed (after EXIF rotation). */
  sourceWidth: number;
  /** Height of the input as displayed (after EXIF rotation). */
  sourceHeight: number;
}

/** Input of {@link makeContactSheet}. */
export interface ContactSheetOptions {
  /** Images in reading order, each with the caption printed under it. */
  tiles: Array<{ path: string; label: string }>;
  /** Where the PNG goes. */
  outPath: string;
  /** Tiles per row, default min(tile count, 4). */
  columns?: number;
  /** Width of each tile in pixels, default 320; the height follows the first tile's aspect ratio. */
  tileWidth?: number;
}

/** Layout of a written contact sheet. */
export interface ContactSheet {
  /** Width of the sheet in pixels. */
  width: number;
  /** Height of the sheet in pixels. */
  height: number;
  /** Tiles per row. */
  columns: number;
  /** Number of rows. */
  rows: number;
  /** Height of each tile's picture (without its label band). */
  tileHeight: number;
}

/** Gap around and between tiles on a contact sheet. */
export const SHEET_GAP = 8;
/** Height of the label band under each tile on a contact sheet. */
export const SHEET_LABEL_HEIGHT = 24;
const SHEET_BACKGROUND = '#1c1c1c';
const DEFAULT_TILE_WIDTH = 320;
const MAX_COLUMNS = 4;

/**
 * Checks an input image (JPEG/PNG/WebP by its bytes, one frame, at most 50 Mpx, not truncated), turns it upright per EXIF,
 * cover-fits it to exactly width×height and writes an sRGB PNG without metadata; bad input is a non-retryable BadInput.
 */
export async function normalizeImage(
  inputPath: string,
  outPath: string,
  size: { width: number; height: number }
): Promise<NormalizedImage> {
  if (!isPositiveInt(size.width) || !isPositiveInt(size.height)) {
    throw nonRetryable(
      FailureType.BadInput,
      `normalizeImage: size must be positive integers, got ${size.width}x${size.height}`
    );
  }
  const source = await inspectImageFile(inputPath);
  await writeAtomically(outPath, (tmp) =>
    decode(inputPath, (img) =>
      img.resize(size.width, size.height, { fit: 'cover' }).toColourspace('srgb').png().toFile(tmp)
    )
  );
  return { width: size.width, height: size.height, ...source };
}

/** Draws a storyboard PNG: tiles in a grid, each with its label underneath; returns the sheet's layout. */
export async function makeContactSheet(opts: ContactSheetOptions): Promise<ContactSheet> {
  const { tiles } = opts;
  if (tiles.length === 0) throw nonRetryable(FailureType.BadInput, 'makeContactSheet: no tiles');
  const tileWidth = opts.tileWidth ?? DEFAULT_TILE_WIDTH;
  const columns = Math.min(opts.columns ?? MAX_COLUMNS, tiles.length);
  if (!isPositiveInt(tileWidth) || !isPositiveInt(columns)) {
    throw nonRetryable(
      FailureType.BadInput,
      `makeContactSheet: bad layout (columns ${columns}, tile width ${tileWidth})`
    );
  }
  const [first] = await Promise.all(tiles.map((tile) => inspectImageFile(tile.path)));
  const tileHeight = Math.max(1, Math.round((tileWidth * first.sourceHeight) / first.sourceWidth));
  const rows = Math.ceil(tiles.length / columns);
  const cellHeight = tileHeight + SHEET_LABEL_HEIGHT;
  const width = columns * tileWidth + (columns + 1) * SHEET_GAP;
  const height = rows * cellHeight + (rows + 1) * SHEET_GAP;

  const layers = await Promise.all(
    tiles.map(async (tile, i) => {
      const left = SHEET_GAP + (i % columns) * (tileWidth + SHEET_GAP);
      const top = SHEET_GAP + Math.floor(i / columns) * (cellHeight + SHEET_GAP);
      const picture = await decode(tile.path, (img) =>
        img
          .resize(tileWidth, tileHeight, { fit: 'contain', background: SHEET_BACKGROUND })
          .ensureAlpha()
          .raw()
          .toBuffer()
      );
      const layers: OverlayOptions[] = [
        { input: picture, raw: { width: tileWidth, height: tileHeight, channels: 4 }, left, top },
      ];
      const label = await renderLabel(tile.label, tileWidth);
      if (label) layers.push({ ...label, left, top: top + tileHeight + 4 });
      return layers;
    })
  );

  await writeAtomically(opts.outPath, async (tmp) => {
    await sharp({ create: { width, height, channels: 4, background: SHEET_BACKGROUND } })
      .composite(layers.flat())
      .png()
      .toFile(tmp);
  });
  return { width, height, columns, rows, tileHeight };
}

/** Writes a JPEG poster (quality 85) from a frame image; returns its size. */
export async function makePoster(framePath: string, outPath: string): Promise<{ width: number; height: number }> {
  const source = await inspectImageFile(framePath);
  await writeAtomically(outPath, (tmp) =>
    decode(framePath, (img) => img.toColourspace('srgb').jpeg({ quality: 85, progressive: true }).toFile(tmp))
  );
  return { width: source.sourceWidth, height: source.sourceHeight };
}

/** Mean absolute difference (0..255) of the RGB values of two images; `b` is resized to `a`'s size if they differ. */
export async function imageDiff(a: string | Buffer, b: string | Buffer): Promise<number> {
  const rgb = (input: string | Buffer, resizeTo?: { width: number; height: number }) => {
    let img = sharp(input, SAFE_IMAGE_INPUT);
    if (resizeTo) img = img.resize(resizeTo.width, resizeTo.height, { fit: 'fill' });
    return img.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  };
  const first = await rgb(a);
  const second = await rgb(b);
  const other =
    second.info.width === first.info.width && second.info.height === first.info.height
      ? second
      : await rgb(b, { width: first.info.width, height: first.info.height });
  let sum = 0;
  for (let i = 0; i < first.data.length; i++) sum += Math.abs(first.data[i] - other.data[i]);
  return sum / first.data.length;
}

/** libvips messages that blame the input (a loader's read or decode error), whatever follows them. */
const INPUT_FAULT = /load|read error|premature|truncat|corrupt|pixel limit|unsupported image|not a known/i;

/** Runs a sharp pipeline on a checked input; decoding failures (truncated, corrupt) become a BadInput. */
async function decode<T>(inputPath: string, pipeline: (img: Sharp) => Promise<T>): Promise<T> {
  try {
    return await pipeline(sharp(inputPath, SAFE_IMAGE_INPUT));
  } catch (err) {
    // A failure to write is ours to retry, not the input's fault; but libvips reports a truncated input as a read
    // error followed by "unable to write to target", and that one is the input's.
    const message = err instanceof Error ? err.message : String(err);
    if (!INPUT_FAULT.test(message) && /\bwrit|ENOSPC|EACCES|EROFS/i.test(message)) throw err;
    throw imageRefusal(path.basename(inputPath), err);
  }
}

/** Renders a caption as raw RGBA no larger than the label band; undefined if it is empty or cannot be drawn. */
async function renderLabel(text: string, maxWidth: number): Promise<OverlayOptions | undefined> {
  if (!text.trim()) return undefined;
  try {
    const { data, info } = await sharp({
      text: { text: `<span foreground="#eeeeee">${escapeMarkup(text)}</span>`, font: 'sans 12', rgba: true, dpi: 72 },
    })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const width = Math.min(info.width, maxWidth);
    const height = Math.min(info.height, SHEET_LABEL_HEIGHT - 4);
    const raw = { width: info.width, height: info.height, channels: 4 as const };
    const fitted =
      width === info.width && height === info.height
        ? data
        : await sharp(data, { raw }).extract({ left: 0, top: 0, width, height }).raw().toBuffer();
    return { input: fitted, raw: { width, height, channels: 4 } };
  } catch {
    // A machine without fonts must still get its storyboard, just without captions.
    return undefined;
  }
}

function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function isPositiveInt(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}
