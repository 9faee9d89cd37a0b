import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

const run = promisify(execFile);

/** Bad keyframe and audio inputs of the kinds a new user (or an attacker) supplies, written into `dir`. */
export interface BadInputs {
  /** A 20 000 × 20 000 px PNG (1.2 GB of pixels) that is a few kilobytes on disk. */
  bomb: string;
  /** A real PNG cut in half. */
  truncatedPng: string;
  /** Random bytes with a `.png` name. */
  randomPng: string;
  /** An SVG whose `<image>` and entity point at `externalUrl` and a local file. */
  svg: string;
  /** An animated GIF (5 frames). */
  gif: string;
  /** An animated WebP (5 frames). */
  animatedWebp: string;
  /** Random bytes with a `.mp3` name. */
  noiseMp3: string;
  /** A PNG with a `.wav` name. */
  pictureWav: string;
  /** Ten hours of (silent) audio, about 16 KB of FLAC. */
  tenHours: string;
}

/** A good keyframe: a 640×360 PNG with a colour field and a box. */
export async function goodKeyframe(file: string, hue = '#3366cc'): Promise<string> {
  const box = await sharp({ create: { width: 120, height: 90, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer();
  await sharp({ create: { width: 640, height: 360, channels: 3, background: hue } })
    .composite([{ input: box, left: 100, top: 80 }])
    .png()
    .toFile(file);
  return file;
}

/** A good audio track: `seconds` of a sine tone as WAV. */
export async function goodAudio(file: string, seconds = 3): Promise<string> {
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=f=440:d=${seconds}`, file]);
  return file;
}

/** Writes every bad input into `dir`; the SVG refers to `externalUrl` (default a link-local address). */
export async function writeBadInputs(
  dir: string,
  externalUrl = 'http://169.254.169.254/latest/meta-data/'
): Promise<BadInputs> {
  const at = (name: string) => path.join(dir, name);
  const files: BadInputs = {
    bomb: at('bomb.png'),
    truncatedPng: at('truncated.png'),
    randomPng: at('random.png'),
    svg: at('external.svg'),
    gif: at('animated.gif'),
    animatedWebp: at('animated.webp'),
    noiseMp3: at('noise.mp3'),
    pictureWav: at('picture.wav'),
    tenHours: at('ten-hours.flac'),
  };
  writeFileSync(files.bomb, pngBomb(20_000, 20_000));
  const whole = await sharp(randomBytes(64 * 64 * 3), { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
  writeFileSync(files.truncatedPng, whole.subarray(0, Math.floor(whole.length / 2)));
  writeFileSync(files.randomPng, randomBytes(4096));
  writeFileSync(
    files.svg,
    '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n' +
      '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="640" height="360">' +
      `<image xlink:href="${externalUrl}" href="${externalUrl}" width="640" height="360"/>` +
      '<text y="20">&secret;</text></svg>\n'
  );
  const frames = ['-f', 'lavfi', '-i', 'testsrc=s=64x36:r=5:d=1'];
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...frames, files.gif]);
  await run('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    ...frames,
    '-c:v',
    'libwebp_anim',
    '-loop',
    '0',
    files.animatedWebp,
  ]);
  writeFileSync(files.noiseMp3, randomBytes(8192));
  writeFileSync(files.pictureWav, whole);
  // 1 kHz and the largest FLAC blocks: ten real hours in a second of encoding and 16 KB.
  await run('ffmpeg', [
    ...['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=1000:cl=mono', '-t', '36000'],
    ...['-c:a', 'flac', '-frame_size', '65535', files.tenHours],
  ]);
  return files;
}

/** A PNG whose header says width×height RGB pixels, with only a few rows of (zero) data behind it. */
function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc(64 * (1 + width * 3)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', rows),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
