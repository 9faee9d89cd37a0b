import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Scratch directories are `reelflow-<pid>-<random>` in the system temp dir: the pid says whose they are. */
const SCRATCH_NAME = /^reelflow-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Runs `fn` in a fresh private directory under the system temp dir and removes it afterwards, whether `fn` returns,
 * throws or is cancelled (a cancelled activity's work rejects with the cancellation, so `finally` runs).
 */
export async function withScratch<T>(fn: (dir: string) => Promise<T>, root: string = os.tmpdir()): Promise<T> {
  const dir = await mkdtemp(path.join(root, `reelflow-${process.pid}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Removes the scratch directories of worker processes that no longer run (a SIGKILL or a crash skips `finally`).
 * A directory whose process is alive, or cannot be asked, is left alone. Returns the names removed.
 */
export async function sweepStaleScratch(tmpDir: string = os.tmpdir()): Promise<string[]> {
  const names = await readdir(tmpDir).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const pid = Number(SCRATCH_NAME.exec(name)?.[1] ?? NaN);
    return Number.isInteger(pid) && pid !== process.pid && !processAlive(pid);
  });
  await Promise.all(stale.map((name) => rm(path.join(tmpDir, name), { recursive: true, force: true })));
  return stale;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs under another user, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
