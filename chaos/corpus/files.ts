import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

const exec = promisify(execFile);

/** The bad (and one good) input files of the corpus, by what they are. */
export interface CorpusFiles {
  dir: string;
  goodPng: string;
  truncatedPng: string;
  textNamedPng: string;
  bombPng: string;
  externalSvg: string;
  animatedGif: string;
  notAudio: string;
  tenHourAudio: string;
  pngNamedMp3: string;
}

/** CRC-32 of PNG chunks (the table-less bitwise form: a few chunks, speed does not matter). */
function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/**
 * A valid PNG of `size` × `size` black pixels at 1 bit per pixel: 50 MB of rows that deflate to some 50 KB on disk,
 * and decode to 400 Mpx (1.2 GB as RGB), the decompression bomb of the corpus.
 */
export function bombPng(size = 20_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const row = 1 + Math.ceil(size / 8); // filter byte + packed pixels
  const idat = deflateSync(Buffer.alloc(row * size), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Writes every corpus file into `dir` (cheaply: the ten-hour audio is one minute of silence repeated). */
export async function writeCorpusFiles(dir: string, random: () => number): Promise<CorpusFiles> {
  await mkdir(dir, { recursive: true });
  const at = (name: string) => path.join(dir, name);
  const files: CorpusFiles = {
    dir,
    goodPng: at('good.png'),
    truncatedPng: at('truncated.png'),
    textNamedPng: at('notes.png'),
    bombPng: at('bomb.png'),
    externalSvg: at('external.svg'),
    animatedGif: at('animated.gif'),
    notAudio: at('music.mp3'),
    tenHourAudio: at('ten-hours.mp3'),
    pngNamedMp3: at('picture.mp3'),
  };
  const good = await sharp({
    create: { width: 960, height: 540, channels: 3, background: { r: 40, g: 90, b: 160 } },
  })
    .png()
    .toBuffer();
  await writeFile(files.goodPng, good);
  await writeFile(files.truncatedPng, good.subarray(0, Math.floor(good.length / 2)));
  await writeFile(files.textNamedPng, 'this is a shopping list, not a picture\n'.repeat(50));
  await writeFile(files.bombPng, bombPng());
  await writeFile(
    files.externalSvg,
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="960" height="540">' +
      '<image href="http://169.254.169.254/latest/meta-data/iam/security-credentials/" width="960" height="540"/>' +
      '<image xlink:href="file:///etc/passwd" width="10" height="10"/>' +
      '<use href="http://127.0.0.1:1/sprite.svg#a"/></svg>\n'
  );
  await exec('ffmpeg', [
    ...['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=5', '-t', '1'],
    files.animatedGif,
  ]);
  await writeFile(files.notAudio, Buffer.from(Array.from({ length: 64 * 1024 }, () => Math.floor(random() * 256))));
  await writeFile(files.pngNamedMp3, good);
  // One minute of 8 kb/s mono silence without a Xing header, repeated 600 times: a real MP3 of ten hours (36 MB).
  const minute = at('minute.mp3');
  await exec('ffmpeg', [
    ...['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '60'],
    ...['-c:a', 'libmp3lame', '-b:a', '8k', '-write_xing', '0', minute],
  ]);
  const oneMinute = await readFile(minute);
  await writeFile(files.tenHourAudio, Buffer.concat(Array.from({ length: 600 }, () => oneMinute)));
  await rm(minute);
  return files;
}
