/**
 * P6 scale (issue 12): many stories waiting for keyframe review at once against one worker process (its memory,
 * and how soon a review Update reaches the story's next activity), then some of them through to MP4 with the
 * provider's cap as the only limit. The keyframes are supplied files, so the waiting stories cost no image
 * generations: the figure is about stories that wait, not about making images.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { SEARCH_ATTRIBUTES } from '../common/constants';
import { figure, type Figure } from './figures';
import { traceTree } from './histories';
import { median, percentile } from './maths';
import { emulatorAccount, inFlightSpan, VIDEO_CAP, videoGenerationsOf, type BenchStack } from './stack';
import { benchStory, forEachLimited } from './stories';

/** What P6 runs. */
export interface ScaleBenchOptions {
  bench: BenchStack;
  waiting: number;
  throughToMp4: number;
  tag: string;
  log: (line: string) => void;
}

/** The scale part's result. */
export interface ScaleBench {
  figures: Figure[];
  rssIdleMiB: number;
  rssWaitingMiB: number;
  startSeconds: number;
  reviewToActivityMs: number[];
  reviewToScheduledMs: number[];
  throughWallMs: number;
  throughIdealMs: number;
}

/** Runs P6 on a stack with one worker process. */
export async function benchScale(opts: ScaleBenchOptions): Promise<ScaleBench> {
  const { bench, log } = opts;
  const { stack, client } = bench;
  const worker = stack.group.get(stack.workerNames[0]);
  if (!worker || stack.workerNames.length !== 1) throw new Error('P6 runs against exactly one worker process');
  const rss = () => rssMiB(worker.pid);

  const dir = path.join(stack.dirs.out, 'keyframes');
  await mkdir(dir, { recursive: true });
  const frames = await Promise.all(
    ['#24506e', '#b0603a'].map(async (color, k) => {
      const file = path.join(dir, `boundary-${k}.png`);
      await sharp({ create: { width: 540, height: 540, channels: 3, background: color } })
        .png()
        .toFile(file);
      return file;
    })
  );
  const rssIdleMiB = await settledRss(rss);
  const ids = Array.from({ length: opts.waiting }, (_, i) => `bench-${opts.tag}-p6-${String(i + 1).padStart(4, '0')}`);
  log(
    `${opts.waiting} stories (1 shot, supplied keyframes) to their keyframe review, one worker (RSS ${rssIdleMiB} MiB idle)`
  );
  const began = Date.now();
  await forEachLimited(ids, 16, (id) =>
    client.start(benchStory({ title: `P6 ${id}`, shots: 1, keyframeReview: true, keyframes: frames }), {
      storyId: id,
    })
  );
  const query = `WorkflowType = 'storyWorkflow' AND ${SEARCH_ATTRIBUTES.stage.name} = 'awaiting-keyframe-review' AND WorkflowId STARTS_WITH 'bench-${opts.tag}-p6-'`;
  for (;;) {
    const { count } = await client.temporal.workflow.count(query);
    if (count >= opts.waiting) break;
    if (Date.now() - began > 30 * 60_000) throw new Error(`only ${count} of ${opts.waiting} stories reached review`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  const startSeconds = (Date.now() - began) / 1000;
  const rssWaitingMiB = await settledRss(rss);
  log(`all waiting after ${startSeconds.toFixed(0)} s; worker RSS ${rssWaitingMiB} MiB`);

  // One review at a time, as people send them; each timed from the send to the story's next activity starting.
  const chosen = ids.slice(0, opts.throughToMp4);
  const sentAt = new Map<string, number>();
  const throughBegan = Date.now();
  for (const id of chosen) {
    sentAt.set(id, Date.now());
    await client.reviewKeyframes(id, { approve: true }, { updateId: `bench-${id}-approve` });
  }
  log(`${chosen.length} reviews sent; waiting for their MP4s`);
  const results = await Promise.all(chosen.map((id) => client.result(id)));
  const throughWallMs = Date.now() - throughBegan;
  const failed = results.filter((r) => r.status !== 'completed');
  if (failed.length) throw new Error(`${failed.length} approved stories did not complete: ${failed[0].error}`);

  const reviewToActivityMs: number[] = [];
  const reviewToScheduledMs: number[] = [];
  for (const id of chosen) {
    const traces = await traceTree(client.temporal, id);
    const sent = sentAt.get(id)!;
    const next = traces
      .flatMap((t) => t.activities)
      .filter((a) => a.scheduled >= sent)
      .sort((a, b) => a.scheduled - b.scheduled)[0];
    if (!next) continue;
    reviewToActivityMs.push(next.start - sent);
    reviewToScheduledMs.push(next.scheduled - sent);
  }
  const account = await emulatorAccount(stack);
  const clipMs = videoGenerationsOf(account, chosen).map((g) => {
    const span = inFlightSpan(g);
    return span.end - span.start;
  });
  // The cap-bound ideal: every clip's time at the provider, VIDEO_CAP at a time, nothing else in the way.
  const throughIdealMs = (chosen.length * median(clipMs)) / VIDEO_CAP;
  const p50 = percentile(reviewToActivityMs, 50);
  const p99 = percentile(reviewToActivityMs, 99);
  const figures = [
    figure({
      part: 'P6',
      name: `worker RSS with ${opts.waiting} stories waiting for review`,
      value: rssWaitingMiB,
      unit: 'MiB',
      goal: { op: '<=', target: 1024 },
      note: `one worker process serving every queue; ${rssIdleMiB} MiB before the stories; all waiting ${startSeconds.toFixed(0)} s after the first start`,
    }),
    figure({
      part: 'P6',
      name: 'memory per waiting story',
      value: ((rssWaitingMiB - rssIdleMiB) * 1024) / opts.waiting,
      unit: 'KiB',
    }),
    figure({
      part: 'P6',
      name: 'review Update → next activity, p50',
      value: p50,
      unit: 'ms',
      note: `${reviewToActivityMs.length} reviews sent one at a time to stories among ${opts.waiting} waiting`,
    }),
    figure({
      part: 'P6',
      name: '… of which until the workflows scheduled it, p50 / p99',
      value: `${percentile(reviewToScheduledMs, 50).toFixed(0)} / ${percentile(reviewToScheduledMs, 99).toFixed(0)}`,
      unit: 'ms',
      note: 'the rest is the activity waiting in its task queue for a worker slot (schedule-to-start)',
    }),
    figure({
      part: 'P6',
      name: 'review Update → next activity, p99',
      value: p99,
      unit: 'ms',
      goal: { op: '<=', target: 1000 },
    }),
    figure({
      part: 'P6',
      name: `${chosen.length} stories through to MP4: wall ÷ cap-bound ideal`,
      value: throughWallMs / throughIdealMs,
      unit: '×',
      note: `wall ${(throughWallMs / 1000).toFixed(1)} s from the first review; ideal ${(throughIdealMs / 1000).toFixed(1)} s = ${chosen.length} clips × median ${(median(clipMs) / 1000).toFixed(1)} s at the provider ÷ cap ${VIDEO_CAP}`,
    }),
  ];
  return {
    figures,
    rssIdleMiB,
    rssWaitingMiB,
    startSeconds,
    reviewToActivityMs,
    reviewToScheduledMs,
    throughWallMs,
    throughIdealMs,
  };
}

/** Resident memory of a process, MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kib / 1024);
}

/** The highest of a few readings a second apart: the worker's caches fill and its GC runs in between. */
async function settledRss(read: () => number): Promise<number> {
  let high = 0;
  for (let k = 0; k < 5; k++) {
    high = Math.max(high, read());
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return high;
}
