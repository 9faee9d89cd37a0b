import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureType, nonRetryable } from '../common/failures';
import type { StitchMethod } from '../common/progress';
import { tempSibling, writeAtomically } from './atomic-write';
import { checkAudioFile } from '../inputs';
import { planCrossfade, type CopyPiece, type TransitionPiece } from './crossfade-plan';
import {
  localInputOptions,
  MP4_DEMUXER,
  mp4InputOptions,
  probeMedia,
  probePackets,
  probeVideo,
  runFfmpeg,
  type FfmpegJob,
  type PacketList,
  type ProbedVideo,
  type RunOptions,
} from './ffmpeg';

/** Input of {@link stitchClips}. */
export interface StitchOptions extends RunOptions {
  /** MP4 clips in play order. */
  clips: string[];
  /** Where the MP4 goes; written to a temporary sibling first and renamed. */
  outPath: string;
  /** Length of each cross-fade between consecutive clips; 0 for hard cuts. */
  crossfadeSeconds: number;
  /** A track laid under the whole video: looped if shorter, trimmed if longer, scaled by `volume` (1 = unchanged). */
  audio?: { path: string; volume: number };
  /** Fade-out of the audio at the end, default 1 s. */
  fadeOutSeconds?: number;
  /**
   * `auto` (default): re-encode only the cross-fade windows when the clips allow it, else the whole video; `full`:
   * always the whole video (the reference the smart way is measured against).
   */
  crossfadeMethod?: 'auto' | 'full';
  /**
   * What was learnt of each clip when it was checked (`clips[i]`'s probe, as ingestClip keeps it beside the clip);
   * used instead of probing again. A missing entry, or one without the packet list a smart cross-fade needs, is
   * probed.
   */
  clipFacts?: Array<ProbedVideo | undefined>;
}

/** Output of {@link stitchClips}. */
export interface StitchResult {
  /** Probed length of the written video. */
  durationSeconds: number;
  /** How the clips were joined. */
  method: StitchMethod;
  /** Frame size of the written video. */
  width: number;
  /** Frame size of the written video. */
  height: number;
  /** Seconds of video that were re-encoded (0 for a copy). */
  reencodedSeconds: number;
  /** Why a cross-fade was re-encoded whole rather than only around the fades. */
  fallbackReason?: string;
}

const AUDIO_RATE = 48_000;
/** 10 s of stereo 48 kHz AAC silence at 128k (3.6 kB), looped under a video without a track of its own. */
const SILENCE_AAC = path.join(__dirname, 'silence.m4a');
const DEFAULT_FADE_OUT_SECONDS = 1;
const FULL_ENCODE = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'];
// xfade needs identical time bases, SAR and pixel formats on both inputs.
const XFADE_INPUT_STEPS = ['settb=AVTB', 'setsar=1', 'format=yuv420p'];

/**
 * x264 settings tried, in order, for the re-encoded windows of a smart cross-fade. An MP4 track has one set of H.264
 * headers (avcC), so a window may sit between copied pieces only if its encoder writes the very same SPS and PPS;
 * x264 does for the same preset and CRF (the PPS carries the initial QP, so another CRF differs). veryfast/23 is what
 * the emulator writes; medium/23 is ffmpeg's libx264 default, which many pipelines keep.
 */
const WINDOW_ENCODERS = [
  { preset: 'veryfast', crf: 23 },
  { preset: 'medium', crf: 23 },
] as const;
type WindowEncoder = (typeof WINDOW_ENCODERS)[number];

/**
 * Windows encoded at once. A window is a second or two of video, and x264's start-up and lookahead (and the end of
 * each window) leave cores idle; two at a time keep both cores of a small machine busy.
 */
const WINDOW_CONCURRENCY = 2;

/**
 * Joins clips into one H.264/AAC MP4 with fast start. Hard cuts are a stream copy when the clips are alike (else a
 * re-encode); cross-fades re-encode only the windows around each fade and copy the rest when the clips' keyframes and
 * headers allow it (`smart-crossfade`), else the whole video (`full-crossfade`). Both place every fade at the same
 * frame. The output always has an AAC track (silence without `audio`).
 */
export async function stitchClips(opts: StitchOptions): Promise<StitchResult> {
  const { clips, crossfadeSeconds: xf } = opts;
  if (clips.length === 0) throw nonRetryable(FailureType.BadInput, 'stitchClips: no clips to stitch');
  if (!Number.isFinite(xf) || xf < 0) {
    throw nonRetryable(FailureType.BadInput, `stitchClips: cross-fade must be 0 or more seconds, got ${xf}`);
  }
  const fadeOut = opts.fadeOutSeconds ?? DEFAULT_FADE_OUT_SECONDS;
  if (!Number.isFinite(fadeOut) || fadeOut < 0) {
    throw nonRetryable(FailureType.BadInput, `stitchClips: audio fade-out must be 0 or more seconds, got ${fadeOut}`);
  }
  if (opts.audio && (!Number.isFinite(opts.audio.volume) || opts.audio.volume < 0)) {
    throw nonRetryable(FailureType.BadInput, `stitchClips: audio volume must be 0 or more, got ${opts.audio.volume}`);
  }

  // A smart cross-fade needs the packet lists too; one ffprobe per clip gives both.
  const wantPackets = clips.length > 1 && xf > 0 && opts.crossfadeMethod !== 'full';
  const known = (i: number) => {
    const facts = opts.clipFacts?.[i];
    return facts && (!wantPackets || facts.packets) ? facts : undefined;
  };
  const [probed, probedAudio] = await Promise.all([
    Promise.all(clips.map((clip, i) => known(i) ?? probeVideo(clip, { packets: wantPackets }))),
    opts.audio && checkAudioFile(opts.audio.path, { signal: opts.signal }),
  ]);
  if (clips.length > 1 && xf > 0) {
    const shortest = probed.reduce((a, b) => (b.info.durationSeconds < a.info.durationSeconds ? b : a));
    if (xf >= shortest.info.durationSeconds) {
      throw nonRetryable(
        FailureType.BadInput,
        `stitchClips: cross-fade of ${xf} s must be shorter than the shortest clip ` +
          `(${shortest.info.path}: ${round(shortest.info.durationSeconds)} s)`
      );
    }
  }
  const audio = opts.audio && probedAudio ? { ...opts.audio, ...probedAudio } : undefined;
  const fades = clips.length > 1 && xf > 0;
  const total = probed.reduce((sum, c) => sum + c.info.durationSeconds, 0) - (fades ? (clips.length - 1) * xf : 0);
  const track: AudioTrack = { audio, fadeOut, totalSeconds: total };

  if (!fades) {
    if (joinBlocker(probed)) return reencode(probed, 0, track, 'reencode', opts);
    const entries = probed.map((c) => ({ path: c.info.path, durationSeconds: c.info.durationSeconds }));
    await muxCopiedVideo(entries, track, 'stitch (copy)', opts);
    return finish(opts, 'copy', 0);
  }

  let fallbackReason = 'a full re-encode was asked for';
  if (opts.crossfadeMethod !== 'full') {
    try {
      return await smartCrossfade(probed, xf, track, opts);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // Anything unexpected in the smart way still leaves the full re-encode, which needs nothing of the clips.
      fallbackReason = err instanceof NotSmart ? err.message : `smart cross-fade failed: ${firstLine(err)}`;
    }
  }
  return { ...(await reencode(probed, xf, track, 'full-crossfade', opts)), fallbackReason };
}

/** Why the smart cross-fade does not apply to these clips (the message says which clip and what). */
class NotSmart extends Error {}

interface AudioTrack {
  audio?: { path: string; demuxer: string; volume: number };
  fadeOut: number;
  totalSeconds: number;
}

interface ConcatEntry {
  path: string;
  /** How long the entry shows; the next entry starts there. */
  durationSeconds: number;
  /** Where to seek in the file (its own clock), and the dts at which to stop. */
  inpointSeconds?: number;
  outpointSeconds?: number;
}

async function smartCrossfade(
  probed: ProbedVideo[],
  xf: number,
  track: AudioTrack,
  opts: StitchOptions
): Promise<StitchResult> {
  const blocker = joinBlocker(probed) ?? smartBlocker(probed);
  if (blocker) throw new NotSmart(blocker);
  const lists = probed.map((c) => c.packets!);
  const frameSeconds = 1 / rationalValue(probed[0].fpsRational);
  const plan = planCrossfade(
    lists.map((l, i) => ({ durationSeconds: probed[i].info.durationSeconds, frameSeconds, packets: l.packets })),
    xf
  );
  if (!plan.ok) throw new NotSmart(plan.reason);

  const work = tempSibling(opts.outPath, '.parts');
  await fs.mkdir(work, { recursive: true });
  try {
    const encoder = await pickWindowEncoder(probed[0], work, opts.signal);
    const windows = plan.pieces.filter((p): p is TransitionPiece => p.kind === 'transition');
    // Progress: the windows by their length, then the copy-join as a small share.
    const [windowProgress, muxProgress] = progressParts(opts.onProgress, [
      plan.reencodedSeconds,
      0.05 * plan.totalSeconds,
    ]);
    const done = windows.map(() => 0);
    const encoded = await mapConcurrently(windows, WINDOW_CONCURRENCY, opts.signal, async (piece, k, signal) => {
      const out = path.join(work, `window-${k}.mp4`);
      await encodeWindow(piece, probed, xf, encoder, out, lists[0].timeBase, {
        signal,
        onProgress: (f) => {
          done[k] = f * piece.seconds;
          windowProgress(done.reduce((a, b) => a + b, 0) / plan.reencodedSeconds);
        },
      });
      const list = await probePackets(out);
      checkWindow(list, piece, k, probed[0].extradataHash, frameSeconds);
      return { path: out, list };
    });

    const entries: ConcatEntry[] = [];
    let frames = 0;
    let start = 0;
    let lastDts = -Infinity;
    let w = 0;
    for (const piece of plan.pieces) {
      const entry = piece.kind === 'copy' ? copyEntry(piece, probed) : windowEntry(encoded[w++]);
      // The concat demuxer shifts each entry's timestamps to start where the one before ended: dts must keep rising.
      if (start + entry.firstDts <= lastDts + 1e-6) {
        throw new NotSmart(
          `decode timestamps would go back at ${start.toFixed(3)} s (the pieces delay frames differently)`
        );
      }
      lastDts = start + entry.lastDts;
      start += entry.concat.durationSeconds;
      frames += entry.frames;
      entries.push(entry.concat);
    }

    await muxCopiedVideo(
      entries,
      track,
      'stitch (smart cross-fade)',
      { ...opts, onProgress: muxProgress },
      async (tmp) => {
        const written = (await probePackets(tmp)).packets.length;
        if (written !== frames) throw new NotSmart(`the joined video has ${written} frames, expected ${frames}`);
      }
    );
    return finish(opts, 'smart-crossfade', plan.reencodedSeconds);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Why clips cannot be joined by copying their H.264 as it is (both for hard cuts and between cross-fades). */
function joinBlocker(clips: ProbedVideo[]): string | undefined {
  const [first] = clips;
  for (const [i, c] of clips.entries()) {
    const name = `clip ${i + 1}`;
    if (c.info.videoCodec !== 'h264') return `${name} is ${c.info.videoCodec}, not H.264`;
    if (c.info.pixFmt !== 'yuv420p') return `${name} is ${c.info.pixFmt}, not yuv420p`;
    if (c.info.width !== first.info.width || c.info.height !== first.info.height) {
      return `${name} is ${c.info.width}x${c.info.height}, clip 1 ${first.info.width}x${first.info.height}`;
    }
    if (c.fpsRational !== first.fpsRational) return `${name} runs at ${c.fpsRational} fps, clip 1 ${first.fpsRational}`;
    if (c.sampleAspectRatio !== first.sampleAspectRatio) return `${name} has another sample aspect ratio`;
    // Same extradata means same SPS/PPS: the copied bitstream decodes with the first clip's headers.
    if (c.extradataHash === '' || c.extradataHash !== first.extradataHash) {
      return `${name} has other H.264 headers (SPS/PPS) than clip 1`;
    }
  }
  return undefined;
}

/** What else the smart cross-fade needs: one time base (the windows are written in it) and seeks that mean the same. */
function smartBlocker(clips: ProbedVideo[]): string | undefined {
  for (const [i, c] of clips.entries()) {
    const name = `clip ${i + 1}`;
    if (!/^1\/\d+$/.test(c.timeBase) || c.timeBase !== clips[0].timeBase) {
      return `${name} has time base ${c.timeBase}, clip 1 ${clips[0].timeBase}`;
    }
    // The concat demuxer matches streams by index, and ffmpeg's -ss counts from the file's start, not the video's.
    if (c.streamIndex !== 0) return `${name} has its video as stream ${c.streamIndex}, not the first`;
    if (Math.abs(c.videoStartSeconds - c.fileStartSeconds) > 0.001) return `${name}'s video starts after the file`;
  }
  return undefined;
}

/**
 * Window encoders already found, by the clips' headers, frame rate and time base: a worker stitches many stories
 * whose clips come from the same provider settings, and each window is checked against the headers all the same.
 */
const knownEncoders = new Map<string, WindowEncoder | undefined>();

/** The first of {@link WINDOW_ENCODERS} whose one-frame encode of the first clip has the clips' own H.264 headers. */
async function pickWindowEncoder(clip: ProbedVideo, work: string, signal?: AbortSignal): Promise<WindowEncoder> {
  const like = `${clip.extradataHash} ${clip.fpsRational} ${clip.timeBase}`;
  const known = knownEncoders.has(like) ? knownEncoders.get(like) : await findWindowEncoder(clip, work, signal);
  knownEncoders.set(like, known);
  if (known) return known;
  throw new NotSmart(
    `no window encoder (${WINDOW_ENCODERS.map((e) => `x264 ${e.preset} crf ${e.crf}`).join(', ')}) ` +
      'writes the H.264 headers (SPS/PPS) the clips have'
  );
}

async function findWindowEncoder(
  clip: ProbedVideo,
  work: string,
  signal?: AbortSignal
): Promise<WindowEncoder | undefined> {
  for (const [k, encoder] of WINDOW_ENCODERS.entries()) {
    const out = path.join(work, `probe-${k}.mp4`);
    await runFfmpeg(
      'probe window encoder',
      {
        inputs: [{ path: clip.info.path, options: mp4InputOptions() }],
        filter: `[0:v]${XFADE_INPUT_STEPS.join(',')}[vout]`,
        output: out,
        outputOptions: ['-map', '[vout]', '-frames:v', '1', ...windowEncodeOptions(encoder, clip.timeBase)],
      },
      { signal }
    );
    if ((await probePackets(out)).extradataHash === clip.extradataHash) return encoder;
  }
  return undefined;
}

function windowEncodeOptions(encoder: WindowEncoder, timeBase: string): string[] {
  const timescale = timeBase.split('/')[1];
  return [
    ...['-c:v', 'libx264', '-preset', encoder.preset, '-crf', String(encoder.crf), '-pix_fmt', 'yuv420p'],
    // The copied packets keep their ticks; a window in another time base would be re-timed by the concat demuxer.
    ...['-video_track_timescale', timescale, '-an', '-f', 'mp4'],
  ];
}

/**
 * Re-encodes one window: each input from where its part starts (seeking to the keyframe at or before it, which a seek
 * lands on exactly, and dropping the frames up to it), cross-faded into the next as the full re-encode does.
 */
function encodeWindow(
  piece: TransitionPiece,
  probed: ProbedVideo[],
  xf: number,
  encoder: WindowEncoder,
  out: string,
  timeBase: string,
  run: RunOptions
): Promise<void> {
  const frame = 1 / rationalValue(probed[0].fpsRational);
  const chains = piece.inputs.map((input, k) => {
    const steps: string[] = [];
    if (input.skipFrames > 0) steps.push(`trim=start_frame=${input.skipFrames}`);
    if (input.seekSeconds > 0 || input.skipFrames > 0) steps.push('setpts=PTS-STARTPTS');
    if (input.frames !== undefined) steps.push(`trim=end_frame=${input.frames}`);
    return `[${k}:v]${[...steps, ...XFADE_INPUT_STEPS].join(',')}[v${k}]`;
  });
  const graph = `${chains.join(';')};${xfadeChain(
    piece.inputs.map((i) => i.seconds),
    xf
  )}`;
  const inputs = piece.inputs.map((input) => {
    const options: string[] = [];
    // Half a frame past the keyframe: the seek goes back to it, whatever the rounding, and no frame is dropped.
    if (input.seekSeconds > 0) options.push('-noaccurate_seek', '-ss', seconds(input.seekSeconds + frame / 2));
    // Reading stops soon after the frames kept (trim counts them exactly), not at the end of the clip.
    if (input.frames !== undefined) options.push('-t', seconds(input.seconds + frame / 2));
    return { path: probed[input.clip].info.path, options: [...options, ...mp4InputOptions()] };
  });
  return runFfmpeg(
    'cross-fade window',
    {
      inputs,
      filter: graph,
      output: out,
      outputOptions: ['-map', '[vout]', ...windowEncodeOptions(encoder, timeBase)],
    },
    { ...run, expectedSeconds: piece.seconds }
  );
}

function checkWindow(list: PacketList, piece: TransitionPiece, k: number, headers: string, frame: number): void {
  if (list.extradataHash !== headers) throw new NotSmart(`window ${k + 1} came out with other H.264 headers`);
  if (!list.packets[0]?.key) throw new NotSmart(`window ${k + 1} does not start with a keyframe`);
  if (Math.abs(list.durationSeconds - piece.seconds) > frame / 2) {
    throw new NotSmart(`window ${k + 1} is ${list.durationSeconds} s long, expected ${round(piece.seconds, 3)} s`);
  }
}

interface PlacedEntry {
  concat: ConcatEntry;
  frames: number;
  /** dts of the entry's first and last packet, relative to the start of its first frame. */
  firstDts: number;
  lastDts: number;
}

function copyEntry(piece: CopyPiece, probed: ProbedVideo[]): PlacedEntry {
  return {
    concat: {
      path: probed[piece.clip].info.path,
      durationSeconds: piece.seconds,
      inpointSeconds: piece.inpointSeconds,
      outpointSeconds: piece.outpointSeconds,
    },
    frames: piece.frames,
    firstDts: piece.firstDtsSeconds,
    lastDts: piece.lastDtsSeconds,
  };
}

function windowEntry(window: { path: string; list: PacketList }): PlacedEntry {
  const { packets } = window.list;
  const firstPts = Math.min(...packets.map((p) => p.pts));
  return {
    concat: { path: window.path, durationSeconds: window.list.durationSeconds, inpointSeconds: firstPts },
    frames: packets.length,
    firstDts: packets[0].dts - firstPts,
    lastDts: packets[packets.length - 1].dts - firstPts,
  };
}

/** Writes the MP4 from concat entries: the video copied as it is, the audio track (or silence) encoded under it. */
async function muxCopiedVideo(
  entries: ConcatEntry[],
  track: AudioTrack,
  label: string,
  opts: StitchOptions,
  check?: (tmp: string) => Promise<void>
): Promise<void> {
  const listPath = await writeConcatList(opts.outPath, entries);
  try {
    await writeAtomically(opts.outPath, async (tmp) => {
      await runFfmpeg(
        label,
        {
          inputs: [
            { path: listPath, options: [...localInputOptions(['concat', MP4_DEMUXER]), '-f', 'concat', '-safe', '0'] },
            audioInput(track),
          ],
          filter: buildAudioFilter(1, track),
          output: tmp,
          outputOptions: ['-map', '0:v:0', '-c:v', 'copy', ...audioOutputOptions(1, track)],
        },
        { signal: opts.signal, onProgress: opts.onProgress, expectedSeconds: track.totalSeconds }
      );
      await check?.(tmp);
    });
  } finally {
    await fs.rm(listPath, { force: true });
  }
}

/** Re-encodes the whole video: cross-fades (or a concat filter for hard cuts), every clip decoded at once. */
async function reencode(
  probed: ProbedVideo[],
  xf: number,
  track: AudioTrack,
  method: 'reencode' | 'full-crossfade',
  opts: StitchOptions
): Promise<StitchResult> {
  await writeAtomically(opts.outPath, (tmp) =>
    runFfmpeg(
      `stitch (${method})`,
      {
        inputs: [...probed.map((clip) => ({ path: clip.info.path, options: mp4InputOptions() })), audioInput(track)],
        filter: [buildVideoFilter(probed, xf), buildAudioFilter(probed.length, track)].filter(Boolean).join(';'),
        output: tmp,
        outputOptions: ['-map', '[vout]', ...FULL_ENCODE, ...audioOutputOptions(probed.length, track)],
      },
      { signal: opts.signal, onProgress: opts.onProgress, expectedSeconds: track.totalSeconds }
    )
  );
  return finish(opts, method, track.totalSeconds);
}

async function finish(opts: StitchOptions, method: StitchMethod, reencodedSeconds: number): Promise<StitchResult> {
  const out = await probeMedia(opts.outPath);
  opts.onProgress?.(1);
  return { durationSeconds: out.durationSeconds, method, width: out.width, height: out.height, reencodedSeconds };
}

function audioInput(track: AudioTrack): FfmpegJob['inputs'][number] {
  if (track.audio) {
    const { path: file, demuxer } = track.audio;
    return { path: file, options: ['-stream_loop', '-1', ...localInputOptions([demuxer]), '-f', demuxer] };
  }
  // The product promises H.264/AAC, and some players and upload checks want an audio track: silence, encoded once
  // ahead of time and looped, so a hard-cut story is a copy of both tracks.
  return { path: SILENCE_AAC, options: ['-stream_loop', '-1', ...mp4InputOptions()] };
}

function audioOutputOptions(inputIndex: number, track: AudioTrack): string[] {
  const container = ['-movflags', '+faststart', '-f', 'mp4'];
  // Copied silence ends on the first AAC frame past the video (within 21 ms), as an encoded track does.
  if (!track.audio)
    return ['-map', `${inputIndex}:a:0`, '-c:a', 'copy', '-t', seconds(track.totalSeconds), ...container];
  // 128k: ffmpeg's AAC encoder slows several-fold at 192k on a mono track, for no audible gain here.
  return ['-map', '[aout]', '-c:a', 'aac', '-b:a', '128k', ...container];
}

function buildVideoFilter(clips: ProbedVideo[], xf: number): string {
  const [first] = clips;
  const { width: w, height: h } = first.info;
  const chains = clips.map((c, i) => {
    const steps: string[] = [];
    if (c.info.width !== w || c.info.height !== h) {
      steps.push(`scale=${w}:${h}:force_original_aspect_ratio=decrease`, `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`);
    }
    // Only when needed, and `framerate` rather than `fps`: after `fps`, xfade in ffmpeg 5.1 adds a frame at the cut.
    if (c.fpsRational !== first.fpsRational) steps.push(`framerate=${first.fpsRational}`);
    return `[${i}:v]${[...steps, ...XFADE_INPUT_STEPS].join(',')}[v${i}]`;
  });
  if (clips.length === 1) return `${chains[0]};[v0]null[vout]`;
  if (xf === 0) {
    return `${chains.join(';')};${clips.map((_, i) => `[v${i}]`).join('')}concat=n=${clips.length}:v=1:a=0[vout]`;
  }
  return `${chains.join(';')};${xfadeChain(
    clips.map((c) => c.info.durationSeconds),
    xf
  )}`;
}

/**
 * `[v0]…[vN]` cross-faded one into the next to `[vout]`: each fade starts `xf` before the end of what came before.
 * The full re-encode and the smart windows both use it, so a window places its fade where the full one does.
 */
function xfadeChain(lengths: number[], xf: number): string {
  const fades: string[] = [];
  let offset = 0;
  let previous = '[v0]';
  for (let i = 1; i < lengths.length; i++) {
    offset += lengths[i - 1] - xf;
    const label = i === lengths.length - 1 ? '[vout]' : `[x${i}]`;
    fades.push(`${previous}[v${i}]xfade=transition=fade:duration=${seconds(xf)}:offset=${seconds(offset)}${label}`);
    previous = label;
  }
  return fades.join(';');
}

/** The `[aout]` chain: the track looped by its input, cut to the video, at its volume, faded out (none for silence). */
function buildAudioFilter(inputIndex: number, track: AudioTrack): string | undefined {
  const total = track.totalSeconds;
  if (!track.audio) return undefined;
  const fade = Math.min(track.fadeOut, total);
  // No channel-layout change: mono up-mixed to stereo would come out 3 dB quieter than asked.
  const steps = [
    `aresample=${AUDIO_RATE}`,
    `volume=${track.audio.volume}`,
    `atrim=duration=${seconds(total)}`,
    'asetpts=N/SR/TB',
  ];
  if (fade > 0) steps.push(`afade=t=out:st=${seconds(total - fade)}:d=${seconds(fade)}`);
  return `[${inputIndex}:a]${steps.join(',')}[aout]`;
}

/**
 * Writes the concat demuxer's script next to the output. Each entry's length is given (the video's, not the
 * container's: a clip whose audio outlasts its video would otherwise leave a hole in the video at every cut).
 */
async function writeConcatList(outPath: string, entries: ConcatEntry[]): Promise<string> {
  const script = entries
    .map((e) => {
      const lines = [`file ${concatQuote(e.path)}`];
      // Rounded up to the microsecond: the seek must not land one tick before the keyframe (and so on the one before).
      if (e.inpointSeconds !== undefined)
        lines.push(`inpoint ${(Math.ceil(e.inpointSeconds * 1e6 - 1e-3) / 1e6).toFixed(6)}`);
      if (e.outpointSeconds !== undefined) lines.push(`outpoint ${seconds(e.outpointSeconds)}`);
      lines.push(`duration ${seconds(e.durationSeconds)}`);
      return `${lines.join('\n')}\n`;
    })
    .join('');
  const listPath = tempSibling(outPath, '.txt');
  await fs.mkdir(path.dirname(listPath), { recursive: true });
  await fs.writeFile(listPath, script);
  return listPath;
}

function concatQuote(p: string): string {
  if (/[\r\n]/.test(p)) throw nonRetryable(FailureType.BadInput, `stitchClips: clip path contains a line break: ${p}`);
  return `'${p.replace(/'/g, `'\\''`)}'`;
}

/** Splits one progress callback into parts of the given weights; each part reports its own 0..1. */
function progressParts(onProgress: ((fraction: number) => void) | undefined, weights: number[]) {
  const total = weights.reduce((a, b) => a + b, 0);
  const done = weights.map(() => 0);
  return weights.map((w, k) => (fraction: number) => {
    done[k] = w * Math.min(1, Math.max(0, fraction));
    if (total > 0) onProgress?.(done.reduce((a, b) => a + b, 0) / total);
  });
}

/**
 * Runs `fn` over `items`, at most `limit` at a time. The first failure aborts the others (their ffmpeg is killed)
 * and is thrown once every run has stopped, so nothing still writes into a folder the caller is about to remove.
 */
async function mapConcurrently<T, R>(
  items: T[],
  limit: number,
  outer: AbortSignal | undefined,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>
): Promise<R[]> {
  const controller = new AbortController();
  const forward = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', forward, { once: true });
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let firstError: unknown;
  const worker = async () => {
    while (next < items.length && !controller.signal.aborted) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index, controller.signal);
      } catch (err) {
        firstError ??= err;
        controller.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    outer?.removeEventListener('abort', forward);
  }
  if (firstError !== undefined || controller.signal.aborted) throw firstError ?? controller.signal.reason;
  return results;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
}

function rationalValue(r: string): number {
  const [num, den = '1'] = r.split('/');
  const v = Number(num) / Number(den);
  return Number.isFinite(v) ? v : 0;
}

function seconds(n: number): string {
  return n.toFixed(6);
}

function round(n: number, digits = 2): number {
  return Number(n.toFixed(digits));
}
