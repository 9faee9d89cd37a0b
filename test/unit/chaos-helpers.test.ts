import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { bombPng } from '../../chaos/corpus/files';
import { addLeftBehind, namesField, filesOutsideData } from '../../chaos/r4-bad-input';
import { EXPECTED_ACCESS, serverRoutes } from '../../chaos/r5-access';
import { figure, type PartResult } from '../../chaos/report';

// The parts of the chaos suite that decide a figure on their own, checked apart from a whole run.

test('a refusal names a field only as a word of its own ("invalid" does not name `id`)', () => {
  expect(namesField("reelflow: invalid story id '../x': use letters", 'id')).toBe(true);
  expect(namesField('reelflow: invalid story', 'id')).toBe(false);
  expect(namesField('invalid request: story.shots[0].duration: must be 5 or 9', 'shots[0].duration')).toBe(true);
  expect(namesField('keyframes[10]: not an image', 'keyframes[1]')).toBe(false);
  expect(namesField('story has shots 1..2, not 99', ['shot', 'shots'])).toBe(true);
});

test("every route the server has is read from fastify's own tree, and each has an expected access", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chaos-routes-'));
  try {
    const routes = await serverRoutes(dir);
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /assets/*',
        'POST /v1/stories',
        'GET /v1/stories/:id/result',
        'POST /v1/stories/:id/shots/:n/review',
        'GET /review/:id',
        'GET /openapi.json',
      ])
    );
    const withoutExpectation = routes.filter((r) => {
      const [method, pattern] = r.split(' ');
      return EXPECTED_ACCESS[`${method === 'HEAD' ? 'GET' : method} ${pattern}`] === undefined;
    });
    expect(withoutExpectation).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the decompression bomb is 20 000 × 20 000 px in well under 100 kB', async () => {
  const png = bombPng();
  expect(png.length).toBeLessThan(100 * 1024);
  const meta = await sharp(png, { limitInputPixels: false }).metadata();
  expect([meta.width, meta.height, meta.format]).toEqual([20_000, 20_000, 'png']);
});

test("files left outside the data directory count, empty scratch directories too; the data and tsx's cache do not", () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'chaos-left-'));
  try {
    const dirs = { out, tmp: path.join(out, 'tmp'), cwd: path.join(out, 'cwd') };
    for (const d of ['data/assets/s1', 'tmp/tsx-0', 'tmp/reelflow-AbC123', 'cwd', 'logs']) {
      mkdirSync(path.join(out, d), { recursive: true });
    }
    writeFileSync(path.join(out, 'data/assets/s1/clip.mp4'), 'x');
    writeFileSync(path.join(out, 'tmp/tsx-0/cache.json'), 'x');
    writeFileSync(path.join(out, 'cwd/oops.png'), 'x');
    writeFileSync(path.join(out, 'logs/worker-1.log'), 'x');
    expect([...filesOutsideData(dirs)].sort()).toEqual(['cwd/oops.png', 'tmp/reelflow-AbC123/']);
    const r4: PartResult = {
      part: 'R4',
      title: 't',
      seconds: 1,
      figures: [figure('R4', 'files written outside the data directory', '0', '0', true)],
      details: { writtenOutsideData: [] },
    };
    addLeftBehind(r4, dirs);
    expect(r4.figures[0]).toMatchObject({ value: '2', pass: false });
    // The stack's own (empty) working directory and TMPDIR are no leftovers.
    rmSync(path.join(out, 'cwd/oops.png'));
    rmSync(path.join(out, 'tmp/reelflow-AbC123'), { recursive: true });
    addLeftBehind(r4, dirs);
    expect(r4.figures[0]).toMatchObject({ value: '0', pass: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
