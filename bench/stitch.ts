/**
 * Stitch figures (issue 12, P4 and P5), measured in one run on this machine as ratios: reelflow's full cross-fade
 * against the same ffmpeg command written by hand, the smart cross-fade against the full one (speed, SSIM, frames,
 * A/V), and the hard-cut stream copy in multiples of real time. Returns the figures as data; `bench/main.ts` prints
 * and saves them. It asserts nothing.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { verifyClipProbed } from '../activities/ffmpeg';
import { stitchClips, type StitchOptions, type StitchResult } from '../activities/stitch';
import { frameSize } from '../common/frame-size';
import type { Resolution } from '../common/story';
import { figure, type Figure } from './figures';

const run = promisify(execFile);

/** What to measure on. */
export interface StitchBenchOptions {
  resolution: Resolution;
  clips: number;
  clipSeconds: number;
  crossfadeSeconds: number;
  /** Rounds of every step (hand-written, reelflow full, smart, copies), in alternating order; ratios are medians. */
  rounds: number;
  /** A scratch directory for the clips and outputs (the caller removes it). */
  workDir: string;
  /** Progress lines for a person watching. */
  log?: (line: string) => void;
}

type Step = 'hand' | 'full' | 'smart' | 'copy' | 'copySilent';

/** One round: wall seconds of each step, and CPU seconds (this process and the ffmpeg children it waited for). */
export interface StitchRound {
  wall: Record<Step, number>;
  cpu: Record<Step, number>;
}

/** The stitch part's result: the figures, and the measurements they come from. */
export interface StitchBench {
  setup: Omit<StitchBenchOptions, 'workDir' | 'log'> & { width: number; height: number; fps: number; source: string };
  rounds: StitchRound[];
  smart: StitchResult;
  full: StitchResult;
  copy: StitchResult;
  copySilent: StitchResult;
  figures: Figure[];
}

const FPS = 24;
// As the emulator encodes its clips (emulator/media/clip.ts): what a provider's clips are taken to look like.
const PROVIDER_ENCODING = [
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-crf',
  '23',
  '-g',
  String(FPS),
  '-sc_threshold',
  '0',
];
const MUSIC_SECONDS = 7;
const VOLUME = 0.8;
const FADE_OUT_SECONDS = 1;
/** One AAC frame at 48 kHz: an audio track cannot end closer to the video than this. */
const AAC_FRAME_MS = (1024 / 48_000) * 1000;

/** Measures the stitch figures. */
export async function benchStitch(opts: StitchBenchOptions): Promise<StitchBench> {
  const log = opts.log ?? (() => undefined);
  const { width, height } = frameSize('16:9', opts.resolution);
  const xf = opts.crossfadeSeconds;
  const dir = opts.workDir;
  await fs.mkdir(dir, { recursive: true });
  const madeAt = performance.now();
  const clips = await makeClips(dir, opts.clips, opts.clipSeconds, width, height);
  const music = path.join(dir, 'music.wav');
  await ffmpeg(['-f', 'lavfi', '-i', `sine=f=330:d=${MUSIC_SECONDS}`, music]);
  log(`${opts.clips} clips of ${opts.clipSeconds} s at ${width}x${height} made in ${seconds(madeAt)} s`);

  // What ingestClip records of each clip when it checks it (a story's stitch reads it instead of probing again).
  const clipFacts = await Promise.all(
    clips.map((clip) => verifyClipProbed(clip, { durationSeconds: opts.clipSeconds, width, height, codec: 'h264' }))
  );
  const out = (name: string) => path.join(dir, `${name}.mp4`);
  const audio = { path: music, volume: VOLUME };
  // Every method gets the facts, as renderStory passes them.
  const common: Omit<StitchOptions, 'outPath' | 'crossfadeSeconds'> = {
    clips,
    clipFacts,
    audio,
    fadeOutSeconds: FADE_OUT_SECONDS,
  };
  const steps = {
    hand: async () => {
      await ffmpeg(handWrittenCrossfade(clips, music, out('hand'), opts.clipSeconds, xf));
      return undefined;
    },
    full: () => stitchClips({ ...common, outPath: out('full'), crossfadeSeconds: xf, crossfadeMethod: 'full' }),
    smart: () => stitchClips({ ...common, outPath: out('smart'), crossfadeSeconds: xf }),
    copy: () => stitchClips({ ...common, outPath: out('copy'), crossfadeSeconds: 0 }),
    copySilent: () => stitchClips({ clips, clipFacts, outPath: out('copy-silent'), crossfadeSeconds: 0 }),
  };
  const rounds: StitchRound[] = [];
  const results: Partial<Record<Step, StitchResult>> = {};
  for (let r = 0; r < opts.rounds; r++) {
    // Alternating the order spreads a drift in the machine's speed over both sides of each ratio.
    const order: Step[] = ['hand', 'full', 'smart', 'copy', 'copySilent'];
    if (r % 2 === 1) order.reverse();
    const round: StitchRound = {
      wall: { hand: 0, full: 0, smart: 0, copy: 0, copySilent: 0 },
      cpu: { hand: 0, full: 0, smart: 0, copy: 0, copySilent: 0 },
    };
    for (const name of order) {
      const [started, cpuBefore] = [performance.now(), cpuSeconds()];
      const result = await steps[name]();
      round.wall[name] = (performance.now() - started) / 1000;
      round.cpu[name] = cpuSeconds() - cpuBefore;
      if (result) results[name] = result;
    }
    rounds.push(round);
    const said = order.map((n) => `${n} ${round.wall[n].toFixed(2)} s (cpu ${round.cpu[n].toFixed(2)} s)`);
    log(`round ${r + 1}/${opts.rounds}: ${said.join(', ')}`);
  }
  const ratio = (kind: 'wall' | 'cpu', a: Step, b: Step) => median(rounds.map((r) => r[kind][a] / r[kind][b]));
  const { full, smart, copy, copySilent } = results as Record<Exclude<Step, 'hand'>, StitchResult>;

  log('comparing outputs (SSIM over the whole video)');
  const [ssim, smartFrames, fullFrames, handSame, av] = await Promise.all([
    videoSsim(out('smart'), out('full')),
    countPackets(out('smart')),
    countPackets(out('full')),
    Promise.all([videoMd5(out('hand')), videoMd5(out('full'))]).then(([a, b]) => a === b),
    avOffsets(out('smart')),
  ]);

  const on = `${opts.clips} × ${opts.clipSeconds} s ${opts.resolution} clips, ${xf} s fades, audio`;
  const figures = [
    figure({
      part: 'P4',
      name: 'reelflow full cross-fade ÷ hand-written ffmpeg',
      value: ratio('wall', 'full', 'hand'),
      unit: '×',
      goal: { op: '<=', target: 1.05 },
      note: `${on}; wall time, median of ${rounds.length} paired rounds; reelflow given the clips' facts from their check, as a story's stitch is`,
    }),
    figure({
      part: 'P4',
      name: 'reelflow full cross-fade ÷ hand-written, in CPU seconds',
      value: ratio('cpu', 'full', 'hand'),
      unit: '×',
      note: 'CPU time of the process and its ffmpeg children: barely moved by other load on the machine',
    }),
    figure({
      part: 'P4',
      name: 'hand-written command writes the same video',
      value: handSame ? 'yes' : 'no',
      goal: { op: '=', target: 'yes' },
      note: 'md5 of the video packets of both outputs',
    }),
    figure({
      part: 'P4',
      name: 'hard-cut stream copy, with the audio track',
      value: copy.durationSeconds / median(rounds.map((r) => r.wall.copy)),
      unit: '× real time',
      goal: { op: '>=', target: 50 },
      note:
        `method ${copy.method}; wall time from the call to the probed MP4, with the clips' facts from their ` +
        `check: 1 ffprobe of the track, one ffmpeg (concat copy + AAC of the track + fast start), 1 ffprobe of ` +
        `the output; CPU ${median(rounds.map((r) => r.cpu.copy)).toFixed(2)} s`,
    }),
    figure({
      part: 'P4',
      name: 'hard-cut stream copy, silent track (no story audio)',
      value: copySilent.durationSeconds / median(rounds.map((r) => r.wall.copySilent)),
      unit: '× real time',
      goal: { op: '>=', target: 50 },
      note:
        'one ffmpeg (concat copy + the pre-encoded silence copied + fast start), 1 ffprobe of the output; ' +
        `CPU ${median(rounds.map((r) => r.cpu.copySilent)).toFixed(2)} s`,
    }),
    figure({
      part: 'P4',
      name: 'hard-cut stream copy, silent track, per CPU second',
      value: copySilent.durationSeconds / median(rounds.map((r) => r.cpu.copySilent)),
      unit: '× real time',
      note:
        'seconds of video per CPU second of the process and its ffmpeg/ffprobe children: what the copy costs when ' +
        'other work on the machine stretches its wall time',
    }),
    figure({
      part: 'P5',
      name: 'smart cross-fade speed-up (full ÷ smart)',
      value: ratio('wall', 'full', 'smart'),
      unit: '×',
      goal: { op: '>=', target: 3 },
      note: `method ${smart.method}${smart.fallbackReason ? ` (${smart.fallbackReason})` : ''}; ${on}`,
    }),
    figure({
      part: 'P5',
      name: 'smart cross-fade speed-up, in CPU seconds',
      value: ratio('cpu', 'full', 'smart'),
      unit: '×',
    }),
    figure({
      part: 'P5',
      name: 'SSIM smart vs full',
      value: ssim,
      goal: { op: '>=', target: 0.98 },
    }),
    figure({
      part: 'P5',
      name: 'duration difference smart − full',
      value: smartFrames - fullFrames,
      unit: 'frames',
      goal: { op: '=', target: 0 },
      note: `${smartFrames} and ${fullFrames} frames`,
    }),
    figure({
      part: 'P5',
      name: 'A/V offset at the start (smart)',
      value: Math.abs(av.startMs),
      unit: 'ms',
      goal: { op: '<=', target: 1 },
    }),
    figure({
      part: 'P5',
      name: 'A/V offset at the end (smart)',
      value: Math.abs(av.endMs),
      unit: 'ms',
      goal: { op: '<=', target: Number(AAC_FRAME_MS.toFixed(1)) },
      note: 'one AAC frame is the finest an audio track can end on',
    }),
    figure({
      part: 'P5',
      name: 'share of the video re-encoded (smart)',
      value: smart.reencodedSeconds / smart.durationSeconds,
      note: `${smart.reencodedSeconds.toFixed(2)} of ${smart.durationSeconds.toFixed(2)} s`,
    }),
  ];
  return {
    setup: {
      resolution: opts.resolution,
      clips: opts.clips,
      clipSeconds: opts.clipSeconds,
      crossfadeSeconds: xf,
      rounds: opts.rounds,
      width,
      height,
      fps: FPS,
      source: 'mandelbrot (a continuous zoom, different per clip), x264 veryfast crf 23, keyframe every 1 s',
    },
    rounds,
    smart,
    full,
    copy,
    copySilent,
    figures,
  };
}

/**
 * The full cross-fade as one ffmpeg command written out by hand: every clip decoded at once, the same filters on
 * each, the fades at offsets counted on fingers, the audio track looped, trimmed and faded out under it.
 */
function handWrittenCrossfade(clips: string[], music: string, out: string, clipSeconds: number, xf: number): string[] {
  const total = clips.length * clipSeconds - (clips.length - 1) * xf;
  const inputs = clips.flatMap((clip) => ['-f', 'mov', '-i', clip]);
  let graph = clips.map((_, i) => `[${i}:v]settb=AVTB,setsar=1,format=yuv420p[v${i}];`).join('');
  for (let i = 1; i < clips.length; i++) {
    const from = i === 1 ? '[v0]' : `[x${i - 1}]`;
    const to = i === clips.length - 1 ? '[vout]' : `[x${i}]`;
    graph += `${from}[v${i}]xfade=transition=fade:duration=${xf}:offset=${i * (clipSeconds - xf)}${to};`;
  }
  graph +=
    `[${clips.length}:a]aresample=48000,volume=${VOLUME},atrim=duration=${total},asetpts=N/SR/TB,` +
    `afade=t=out:st=${total - FADE_OUT_SECONDS}:d=${FADE_OUT_SECONDS}[aout]`;
  return [
    ...inputs,
    ...['-stream_loop', '-1', '-f', 'wav', '-i', music, '-filter_complex', graph],
    ...['-map', '[vout]', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'],
    ...['-map', '[aout]', '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', '-f', 'mp4', out],
  ];
}

async function makeClips(dir: string, count: number, clipSeconds: number, width: number, height: number) {
  const clips = Array.from({ length: count }, (_, i) => path.join(dir, `clip-${i}.mp4`));
  // Two at a time: mandelbrot renders on one thread, x264 on the other.
  for (let i = 0; i < count; i += 2) {
    await Promise.all(
      clips.slice(i, i + 2).map((file, k) => {
        const n = i + k;
        const source = `mandelbrot=s=${width}x${height}:r=${FPS}:start_x=${-0.743 - n * 0.01}:start_y=${0.13 + n * 0.02}:start_scale=${2 + n}`;
        return ffmpeg([
          '-f',
          'lavfi',
          '-i',
          source,
          '-t',
          String(clipSeconds),
          ...PROVIDER_ENCODING,
          '-pix_fmt',
          'yuv420p',
          file,
        ]);
      })
    );
  }
  return clips;
}

async function ffmpeg(args: string[]): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stderr;
}

async function videoSsim(a: string, b: string): Promise<number> {
  const { stderr } = await run(
    'ffmpeg',
    ['-nostdin', '-hide_banner', '-i', a, '-i', b, '-lavfi', 'ssim', '-f', 'null', '-'],
    {
      maxBuffer: 64 * 1024 * 1024,
    }
  );
  const m = /SSIM .*All:([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no SSIM in ffmpeg's output: ${stderr.slice(-500)}`);
  return Number(m[1]);
}

async function videoMd5(file: string): Promise<string> {
  const { stdout } = await run('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-i',
    file,
    '-map',
    '0:v',
    '-c',
    'copy',
    '-f',
    'md5',
    '-',
  ]);
  return stdout.trim();
}

async function countPackets(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-count_packets'],
    ...['-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file],
  ]);
  return Number(stdout.trim());
}

/** Audio start and end minus video start and end, in ms. */
async function avOffsets(file: string): Promise<{ startMs: number; endMs: number }> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'stream=codec_type,start_time,duration', '-of', 'json', file],
  ]);
  const streams = (
    JSON.parse(stdout) as { streams: Array<{ codec_type: string; start_time: string; duration: string }> }
  ).streams;
  const span = (type: string) => {
    const s = streams.find((x) => x.codec_type === type);
    if (!s) throw new Error(`${file}: no ${type} stream`);
    return { start: Number(s.start_time), end: Number(s.start_time) + Number(s.duration) };
  };
  const [v, a] = [span('video'), span('audio')];
  return { startMs: (a.start - v.start) * 1000, endMs: (a.end - v.end) * 1000 };
}

/**
 * CPU seconds used so far by this process and by the children it has waited for (every ffmpeg and ffprobe it ran);
 * children's time is read from /proc (Linux), 0 elsewhere.
 */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, cutime and cstime fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / clockTicks();
  } catch {
    children = 0;
  }
  return (own.user + own.system) / 1e6 + children;
}

let ticks: number | undefined;
function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
