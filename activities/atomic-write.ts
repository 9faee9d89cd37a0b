import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** A hidden scratch file next to `outPath` (same filesystem, so a rename is atomic). */
export function tempSibling(outPath: string, suffix: string): string {
  // No part of the caller's name: ffmpeg's image2 muxer would read a '%' in it as a pattern.
  return path.join(path.dirname(path.resolve(outPath)), `.reelflow-${randomUUID()}${suffix}`);
}

/**
 * Lets `write` produce a scratch file, then renames it onto `outPath`: a retried or crashed activity never leaves a
 * half-written file under the real name.
 */
export async function writeAtomically(outPath: string, write: (tmpPath: string) => Promise<unknown>): Promise<void> {
  const abs = path.resolve(outPath);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  const tmp = tempSibling(abs, '.part');
  try {
    await write(tmp);
    await fs.stat(tmp).catch(() => {
      throw new Error(`nothing was written for ${abs}`);
    });
    await fs.rename(tmp, abs);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
