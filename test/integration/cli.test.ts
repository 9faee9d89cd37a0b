import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { probeMedia } from '../../activities/ffmpeg';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

const run = promisify(execFile);
const bin = path.resolve(__dirname, '../../bin/reelflow.cjs');
let stack: TestStack;

/** Runs the `reelflow` bin as a user would, against the test stack's settings. */
async function reelflow(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return reelflowWith({}, ...args);
}

/** The same, with some settings of its own. */
async function reelflowWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, ...stack.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  stack = await startTestStack();
});
const dirs: string[] = [];
afterAll(async () => {
  await stack?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('a whole run through the CLI: start, status, review, result', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-cli-'));
  dirs.push(dir);
  const file = path.join(dir, 'story.yaml');
  // The second shot is made by Kling on fal: the CLI says so wherever it shows shots.
  const story = smallStory({ shots: 2 });
  story.shots[1] = { ...story.shots[1], videoModel: 'kling-2.5-turbo-pro' };
  writeFileSync(file, YAML.stringify(story));

  const estimate = await reelflow('estimate', file);
  expect(estimate.stdout).toMatch(/^ {2}luma +3 image\(s\), 1 clip\(s\): 5\.4 credits, \$0\.27$/m);
  expect(estimate.stdout).toMatch(/^ {2}fal +1 clip\(s\): 7 credits, \$0\.35$/m);

  const started = await reelflow('start', file, '--id', 'cli-1');
  expect(started.code).toBe(0);
  expect(started.stdout).toMatch(/^started cli-1$/m);
  expect(started.stdout).toMatch(/temporal: http:\/\/localhost:8233\/namespaces\/default\/workflows\/cli-1\//);

  await waitForStage(stack, 'cli-1', 'awaiting-keyframe-review');
  const status = await reelflow('status', 'cli-1', '--json');
  expect(JSON.parse(status.stdout).stage).toBe('awaiting-keyframe-review');

  const review = await reelflow('review', 'keyframes', 'cli-1', '--pick', '0=0,2=0', '--approve');
  expect(review.code).toBe(0);

  const result = await reelflow('result', 'cli-1', '--json', '--out', path.join(dir, 'result.json'));
  expect(result.code).toBe(0);
  const json = JSON.parse(result.stdout);
  expect(json.status).toBe('completed');
  expect(existsSync(json.video)).toBe(true);
  expect((await probeMedia(json.video)).durationSeconds).toBeCloseTo(9.5, 1);
  expect(json.shots.map((s: { attempts: number }) => s.attempts)).toEqual([1, 1]);
  expect(existsSync(path.join(dir, 'result.json'))).toBe(true);
  expect(json.shots.map((s: { provider: string; model: string }) => [s.provider, s.model])).toEqual([
    ['luma', 'ray-3-14'],
    ['fal', 'kling-2.5-turbo-pro'],
  ]);

  const text = await reelflow('result', 'cli-1');
  expect(text.stdout).toMatch(/^shot 2: fal kling-2\.5-turbo-pro, 1 attempt\(s\)/m);
  expect(text.stdout).toMatch(/^ {2}fal +1 clip\(s\): 7 credits, \$0\.35$/m);
  const progress = await reelflow('status', 'cli-1');
  expect(progress.stdout).toMatch(/^ {2}shot 1: \S+ on luma ray-3-14, 1 attempt\(s\)/m);
  expect(progress.stdout).toMatch(/^ {2}shot 2: \S+ on fal kling-2\.5-turbo-pro, 1 attempt\(s\)/m);
});

test('reelflow models lists every provider and model with capabilities and prices, overridable by settings', async () => {
  const listed = await reelflow('models', '--json');
  expect(listed.code).toBe(0);
  const listing = JSON.parse(listed.stdout) as {
    providers: Array<{ id: string }>;
    videoModels: Array<{ id: string; provider: string; durations: number[]; prices: Array<{ credits: number }> }>;
  };
  expect(listing.providers.map((p) => p.id)).toEqual(['luma', 'fal']);
  const veo = () => listing.videoModels.find((m) => m.id === 'veo-3.1-fast')!;
  expect(veo()).toMatchObject({ provider: 'fal', durations: [4, 6, 8], endFrame: 'required' });
  // 4 s at $0.10/s = $0.40 = 8 credits; at $0.12/s by REELFLOW_PRICES it is $0.48 = 9.6 credits.
  expect(veo().prices[0]).toMatchObject({ durationSeconds: 4, resolution: '720p', credits: 8 });
  const overridden = await reelflowWith(
    { REELFLOW_PRICES: '{"dollars":{"veo-3.1-fast":{"perSecond":0.12}}}' },
    'models',
    '--json'
  );
  expect(
    JSON.parse(overridden.stdout).videoModels.find((m: { id: string }) => m.id === 'veo-3.1-fast').prices[0]
  ).toMatchObject({
    credits: 9.6,
    dollars: 0.48,
  });
  const text = await reelflow('models');
  expect(text.stdout).toMatch(/^fal: /m);
  expect(text.stdout).toMatch(/^ {2}kling-2\.5-turbo-pro: 5\/10 s/m);
  expect(text.stdout).toMatch(/^ {2}ray-3-14 \(default\): 5\/9 s/m);
});

test('CLI errors are one clear line and a non-zero exit', async () => {
  const unknown = await reelflow('status', 'no-such-story');
  expect(unknown.code).toBe(3);
  expect(unknown.stderr.trim()).toBe("reelflow: no story with id 'no-such-story'");

  const dir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-cli-'));
  dirs.push(dir);
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ title: 'x', shots: [{ description: 'a shot', duration: 7 }] }));
  const invalid = await reelflow('estimate', bad);
  expect(invalid.code).toBe(1);
  expect(invalid.stderr.trim().split('\n')).toHaveLength(1);
  expect(invalid.stderr).toMatch(/shots\[0\]\.duration: must be 5 or 9/);

  const pick = await reelflow('review', 'keyframes', 'cli-1', '--pick', 'zero=1');
  expect(pick.code).toBe(1);
  expect(pick.stderr.trim().split('\n')).toHaveLength(1);
  expect(pick.stderr).toMatch(/'zero=1' is not boundary=variation/);
});
