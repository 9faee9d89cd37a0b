import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { FailureType } from '../../../common/failures';
import {
  imageDiff,
  makeContactSheet,
  makePoster,
  MAX_INPUT_PIXELS,
  normalizeImage,
  SHEET_GAP,
  SHEET_LABEL_HEIGHT,
} from '../../../activities/images';
import { expectNonRetryable, leftoverTempFiles, makeTempDir, removeDir } from './helpers';

let dir: string;
const file = (name: string) => path.join(dir, name);

/** A solid-colour image written with sharp (creating pixels is not a blocked loader). */
function solid(name: string, width: number, height: number, colour: string, format: 'png' | 'jpeg' | 'webp' = 'png') {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .toFormat(format)
    .toFile(file(name))
    .then(() => file(name));
}

/** RGB of one pixel. */
async function pixel(image: string, x: number, y: number): Promise<number[]> {
  const { data } = await sharp(image)
    .extract({ left: x, top: y, width: 1, height: 1 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return [...data];
}

beforeAll(async () => {
  dir = await makeTempDir();
});

afterAll(() => removeDir(dir));

describe('normalizeImage', () => {
  test.each(['jpeg', 'png', 'webp'] as const)(
    'cover-fits a %s to exactly the asked size and writes a PNG',
    async (format) => {
      const input = await solid(`in.${format}`, 400, 300, '#3366cc', format);
      const result = await normalizeImage(input, file(`out-${format}.png`), { width: 320, height: 180 });
      expect(result).toEqual({ width: 320, height: 180, sourceFormat: format, sourceWidth: 400, sourceHeight: 300 });
      const meta = await sharp(file(`out-${format}.png`)).metadata();
      expect(meta).toMatchObject({ format: 'png', width: 320, height: 180 });
    }
  );

  test('turns an EXIF-rotated photo upright before fitting, and strips its metadata', async () => {
    // Left half red, right half blue, stored sideways with orientation 6 (display rotated 90° clockwise).
    const left = await sharp({ create: { width: 150, height: 200, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    const input = file('rotated.jpg');
    await sharp({ create: { width: 300, height: 200, channels: 3, background: '#0000ff' } })
      .composite([{ input: left, left: 0, top: 0 }])
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(input);

    const result = await normalizeImage(input, file('upright.png'), { width: 100, height: 150 });
    expect(result).toMatchObject({ sourceWidth: 200, sourceHeight: 300 });
    const [r1, , b1] = await pixel(file('upright.png'), 50, 10);
    const [r2, , b2] = await pixel(file('upright.png'), 50, 140);
    expect(r1).toBeGreaterThan(200);
    expect(b1).toBeLessThan(50);
    expect(b2).toBeGreaterThan(200);
    expect(r2).toBeLessThan(50);
    const meta = await sharp(file('upright.png')).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
  });

  test('refuses GIF, SVG, text, truncated and missing files with BadInput naming the file', async () => {
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } })
      .gif()
      .toFile(file('anim.gif'));
    await fs.writeFile(file('vector.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    await fs.writeFile(file('notes.png'), 'this is text, not a picture');
    const whole = await fs.readFile(await solid('whole.jpg', 200, 200, '#808080', 'jpeg'));
    await fs.writeFile(file('cut.jpg'), whole.subarray(0, Math.floor(whole.length / 2)));
    const target = file('never.png');

    await expectNonRetryable(
      normalizeImage(file('anim.gif'), target, { width: 8, height: 8 }),
      FailureType.BadInput,
      /^anim\.gif: /
    );
    await expectNonRetryable(
      normalizeImage(file('vector.svg'), target, { width: 8, height: 8 }),
      FailureType.BadInput,
      /^vector\.svg: /
    );
    await expectNonRetryable(
      normalizeImage(file('notes.png'), target, { width: 8, height: 8 }),
      FailureType.BadInput,
      /^notes\.png: /
    );
    await expectNonRetryable(
      normalizeImage(file('cut.jpg'), target, { width: 8, height: 8 }),
      FailureType.BadInput,
      /^cut\.jpg: /
    );
    await expectNonRetryable(
      normalizeImage(file('gone.png'), target, { width: 8, height: 8 }),
      FailureType.BadInput,
      /^gone\.png: file not found/
    );
    await expect(fs.access(target)).rejects.toThrow();
    expect(await leftoverTempFiles(dir)).toEqual([]);
  });

  test(`refuses an image over ${MAX_INPUT_PIXELS / 1e6} Mpx before decoding it`, async () => {
    const side = Math.ceil(Math.sqrt(MAX_INPUT_PIXELS)) + 1;
    await sharp({ create: { width: side, height: side, channels: 3, background: '#123456' } })
      .png({ compressionLevel: 1 })
      .toFile(file('huge.png'));
    await expectNonRetryable(
      normalizeImage(file('huge.png'), file('huge-out.png'), { width: 320, height: 180 }),
      FailureType.BadInput,
      new RegExp(`^huge\\.png: ${side}x${side} is more than 50 Mpx`)
    );
  });
});

describe('makeContactSheet', () => {
  test('lays tiles out in a grid of the expected size with a label band under each', async () => {
    const colours = ['#ff0000', '#00ff00', '#0000ff', '#ffff00', '#00ffff'];
    const tiles = await Promise.all(
      colours.map(async (c, i) => ({ path: await solid(`tile${i}.png`, 320, 180, c), label: `Frame ${i} <&> "cut"` }))
    );
    const sheet = await makeContactSheet({ tiles, outPath: file('sheet.png'), columns: 3, tileWidth: 160 });
    const tileHeight = 90;
    const width = 3 * 160 + 4 * SHEET_GAP;
    const height = 2 * (tileHeight + SHEET_LABEL_HEIGHT) + 3 * SHEET_GAP;
    expect(sheet).toEqual({ width, height, columns: 3, rows: 2, tileHeight });
    expect(await sharp(file('sheet.png')).metadata()).toMatchObject({ format: 'png', width, height });

    // The fifth tile is second in the second row.
    const x = SHEET_GAP + 160 + SHEET_GAP + 80;
    const y = SHEET_GAP + tileHeight + SHEET_LABEL_HEIGHT + SHEET_GAP + 45;
    expect(await pixel(file('sheet.png'), x, y)).toEqual([0, 255, 255]);
  });

  test('does not fail on empty labels or on a label longer than the tile', async () => {
    const tile = await solid('plain.png', 64, 64, '#808080');
    const sheet = await makeContactSheet({
      tiles: [
        { path: tile, label: '' },
        { path: tile, label: 'a very long label that cannot possibly fit under a tile this small '.repeat(3) },
      ],
      outPath: file('sheet-2.png'),
      tileWidth: 64,
    });
    expect(sheet).toMatchObject({ columns: 2, rows: 1, tileHeight: 64 });
  });
});

describe('makePoster', () => {
  test('writes a JPEG of the frame size', async () => {
    const frame = await solid('frame.png', 320, 180, '#445566');
    expect(await makePoster(frame, file('poster.jpg'))).toEqual({ width: 320, height: 180 });
    expect(await sharp(file('poster.jpg')).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 180 });
    expect(await imageDiff(frame, file('poster.jpg'))).toBeLessThan(2);
  });
});

describe('imageDiff', () => {
  test('is 0 for identical pictures and 255 between black and white', async () => {
    const black = await solid('black.png', 20, 10, '#000000');
    const white = await solid('white.png', 20, 10, '#ffffff');
    expect(await imageDiff(black, black)).toBe(0);
    expect(await imageDiff(black, white)).toBe(255);
  });

  test('resizes the second picture to the first when sizes differ', async () => {
    const small = await solid('small.png', 20, 10, '#336699');
    const large = await solid('large.png', 40, 20, '#336699');
    expect(await imageDiff(small, large)).toBe(0);
  });
});
