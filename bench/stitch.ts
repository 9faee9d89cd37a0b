/**
 * Stitch benchmark: stream-copy join against xfade re-encode (with and without an audio track) on six generated
 * clips. Prints times, ffmpeg's peak memory and the ratios measured in this one run; it asserts nothing.
 *
 *   npx tsx bench/stitch.ts [--resolution 540p|720p|1080p|4k] [--clips 6] [--seconds 5] [--crossfade 0.5]
 *                           [--runs 1] [--keep]
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { stitchClips, type StitchOptions } from '../activities/ffmpeg';
import { frameSize } from '../common/frame-size';
import { RESOLUTIONS, type Resolution } from '../common/story';

const run = promisify(execFile);

interface Measurement {
  name: string;
  seconds: number;
  peakRssMb?: number;
  method: string;
  outputSeconds: number;
}

/** Highest VmHWM (peak resident set) seen among our ffmpeg children while `work` runs; undefined without /proc. */
async function withPeakChildRss<T>(work: () => Promise<T>): Promise<{ result: T; peakRssMb?: number }> {
  let peakKb = 0;
  let procReadable = true;
  // Pids already seen not to be our children: skipping them keeps the sampler from competing with ffmpeg for the CPU.
  const others = new Set<string>();
  const sample = async () => {
    try {
      for (const pid of await fs.readdir('/proc')) {
        if (!/^\d+$/.test(pid) || others.has(pid)) continue;
        const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        // A child of ours not yet named ffmpeg may be between fork and exec: look again next time.
        if (!new RegExp(`^PPid:\\s+${process.pid}$`, 'm').test(status)) others.add(pid);
        if (!/^Name:\s+ffmpeg$/m.test(status)) continue;
        const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      }
    } catch {
      procReadable = false;
    }
  };
  let sampling = true;
  // Sampling is best effort: VmHWM only grows, so the last reading before ffmpeg exits is close to its peak.
  const sampler = (async () => {
    while (sampling && procReadable) {
      await sample();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  try {
    return { result: await work(), peakRssMb: procReadable && peakKb > 0 ? peakKb / 1024 : undefined };
  } finally {
    sampling = false;
    await sampler;
  }
}

/** Runs one stitch `runs` times and keeps the median time (and the largest peak RSS). */
async function measure(name: string, opts: StitchOptions, runs: number): Promise<Measurement> {
  const samples: Array<Omit<Measurement, 'name'>> = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { result, peakRssMb } = await withPeakChildRss(() => stitchClips(opts));
    const seconds = (performance.now() - started) / 1000;
    samples.push({ seconds, peakRssMb, method: result.method, outputSeconds: result.durationSeconds });
  }
  samples.sort((a, b) => a.seconds - b.seconds);
  const peaks = samples.map((s) => s.peakRssMb).filter((mb): mb is number => mb !== undefined);
  return {
    name,
    ...samples[Math.floor(samples.length / 2)],
    peakRssMb: peaks.length ? Math.max(...peaks) : undefined,
  };
}

async function makeClips(dir: string, count: number, seconds: number, width: number, height: number) {
  // Same encoder settings for every clip, as a provider would use, so the copy path is eligible.
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const file = path.join(dir, `clip-${i}.mp4`);
      await run('ffmpeg', [
        ...['-nostdin', '-v', 'error', '-y', '-f', 'lavfi'],
        ...['-i', `testsrc2=s=${width}x${height}:r=24:d=${seconds}`],
        ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', file],
      ]);
      return file;
    })
  );
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(1)}x` : 'n/a';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      resolution: { type: 'string', default: '540p' },
      clips: { type: 'string', default: '6' },
      seconds: { type: 'string', default: '5' },
      crossfade: { type: 'string', default: '0.5' },
      runs: { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
    },
  });
  const resolution = values.resolution as Resolution;
  if (!RESOLUTIONS.includes(resolution)) throw new Error(`--resolution must be one of ${RESOLUTIONS.join(', ')}`);
  const count = Number(values.clips);
  const seconds = Number(values.seconds);
  const crossfade = Number(values.crossfade);
  const runs = Math.max(1, Number(values.runs) || 1);
  const { width, height } = frameSize('16:9', resolution);

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reelflow-bench-'));
  try {
    console.log(
      `${count} clips of ${seconds} s at ${width}x${height}, ${os.cpus().length} cores, median of ${runs} run(s)`
    );
    const madeAt = performance.now();
    const clips = await makeClips(dir, count, seconds, width, height);
    const audio = path.join(dir, 'music.wav');
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=f=330:d=7', audio]);
    console.log(`fixtures made in ${((performance.now() - madeAt) / 1000).toFixed(1)} s\n`);

    const music = { path: audio, volume: 0.8 };
    const cases: Array<[string, Pick<StitchOptions, 'crossfadeSeconds' | 'audio'>]> = [
      ['copy', { crossfadeSeconds: 0 }],
      ['copy + audio', { crossfadeSeconds: 0, audio: music }],
      ['xfade', { crossfadeSeconds: crossfade }],
      ['xfade + audio', { crossfadeSeconds: crossfade, audio: music }],
    ];
    const results: Measurement[] = [];
    // One at a time: the runs would compete for the same cores otherwise.
    for (const [name, options] of cases) {
      const outPath = path.join(dir, `${name.replace(/\W+/g, '-')}.mp4`);
      results.push(await measure(name, { clips, outPath, ...options }, runs));
    }

    console.log('run             method        time     peak ffmpeg RSS  output');
    for (const r of results) {
      const rss = r.peakRssMb === undefined ? 'n/a' : `${r.peakRssMb.toFixed(0)} MB`;
      console.log(
        `${r.name.padEnd(15)} ${r.method.padEnd(12)} ${`${r.seconds.toFixed(2)} s`.padStart(8)}  ${rss.padStart(15)}  ` +
          `${r.outputSeconds.toFixed(2)} s`
      );
    }
    const [copy, copyAudio, xfade, xfadeAudio] = results;
    console.log('\nratios measured in this run:');
    console.log(`  xfade/copy time ratio:             ${ratio(xfade.seconds, copy.seconds)}`);
    console.log(`  xfade+audio/xfade time ratio:      ${ratio(xfadeAudio.seconds, xfade.seconds)}`);
    console.log(`  copy+audio/copy time ratio:        ${ratio(copyAudio.seconds, copy.seconds)}`);
    console.log(`  xfade/copy peak RSS ratio:         ${ratio(xfade.peakRssMb, copy.peakRssMb)}`);
    console.log(`  xfade time / output length:        ${ratio(xfade.seconds, xfade.outputSeconds)}`);
  } finally {
    if (values.keep) console.log(`\nkept ${dir}`);
    else await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
