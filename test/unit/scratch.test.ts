import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sweepStaleScratch, withScratch } from '../../activities/scratch';

// Scratch directories of the media activities: gone after use whatever happens, and those of a worker that was
// killed (SIGKILL skips every `finally`) are swept when a media worker starts.

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'scratch-test-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('a scratch directory is removed after its work, whether it returns or throws', async () => {
  let seen = '';
  await withScratch(async (dir) => {
    seen = dir;
    writeFileSync(path.join(dir, 'part.bin'), 'x');
  }, root);
  expect(path.basename(seen)).toMatch(new RegExp(`^reelflow-${process.pid}-`));
  expect(existsSync(seen)).toBe(false);
  await expect(
    withScratch(async (dir) => {
      seen = dir;
      throw new Error('ffmpeg failed');
    }, root)
  ).rejects.toThrow('ffmpeg failed');
  expect(existsSync(seen)).toBe(false);
  expect(readdirSync(root)).toEqual([]);
});

test("the sweep removes a dead process's scratch directories and leaves live ones and others alone", async () => {
  // A process that has ended: its pid is free (until the system reuses it).
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const dead = path.join(root, `reelflow-${gone}-AbC123`);
  const live = path.join(root, `reelflow-${process.pid}-XyZ789`);
  const parent = path.join(root, `reelflow-${process.ppid}-Qwe456`);
  const other = path.join(root, 'reelflow-test-keepme');
  for (const dir of [dead, live, parent, other]) mkdirSync(dir);
  writeFileSync(path.join(dead, 'half.mp4'), 'x');
  expect(await sweepStaleScratch(root)).toEqual([path.basename(dead)]);
  expect(readdirSync(root).sort()).toEqual([live, parent, other].map((d) => path.basename(d)).sort());
});
