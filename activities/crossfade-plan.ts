// Where a cross-faded stitch can copy the clips' H.264 and where it must re-encode: pure arithmetic on the packet
// lists ffprobe gives, so it can be tested without ffmpeg. `stitch.ts` carries the plan out.

/** One video packet, in decode order; times in seconds on the file's own clock (not shifted to start at 0). */
export interface VideoPacket {
  pts: number;
  dts: number;
  /** Marked as a sync sample (a keyframe) by the container. */
  key: boolean;
}

/** What the plan needs to know of one clip. */
export interface PlanClip {
  /** Length of the video stream in seconds: the full cross-fade places its fades by this. */
  durationSeconds: number;
  /** Length of one frame in seconds. */
  frameSeconds: number;
  /** Every video packet in decode order. */
  packets: VideoPacket[];
}

/** A run of one clip's packets copied as they are: from a keyframe up to (not including) the next cut. */
export interface CopyPiece {
  kind: 'copy';
  clip: number;
  /** pts of the keyframe it starts at (the file's clock): where the concat demuxer seeks. */
  inpointSeconds: number;
  /**
   * A time between the dts of the last packet kept and the dts of the first packet dropped (the concat demuxer cuts
   * by dts); absent when the piece runs to the end of the clip.
   */
  outpointSeconds?: number;
  /** Frames it shows (its packets). */
  frames: number;
  /** How long it shows. */
  seconds: number;
  /** dts of its first and last packet, relative to its first frame's pts: to check dts keep rising across cuts. */
  firstDtsSeconds: number;
  lastDtsSeconds: number;
}

/** One input of a re-encoded piece. */
export interface TransitionInput {
  clip: number;
  /** Where its part starts, in seconds from the clip's first frame: 0, or where the copied part before it ended. */
  fromSeconds: number;
  /** The keyframe at or before `fromSeconds` to seek to (a seek lands exactly on a keyframe), and frames to skip. */
  seekSeconds: number;
  skipFrames: number;
  /** Frames kept from `fromSeconds`, when the input stops before the clip ends (at the next piece's keyframe). */
  frames?: number;
  /** Length of the part used, as the cross-fade offsets count it. */
  seconds: number;
}

/** A re-encoded piece: its inputs cross-faded one into the next, as the full re-encode does at the same places. */
export interface TransitionPiece {
  kind: 'transition';
  inputs: TransitionInput[];
  /** Expected length: the inputs' lengths less one cross-fade per fade. */
  seconds: number;
}

/** The pieces of a smart cross-fade in play order, or why the clips do not allow one. */
export type CrossfadePlan =
  | { ok: true; pieces: Array<CopyPiece | TransitionPiece>; reencodedSeconds: number; totalSeconds: number }
  | { ok: false; reason: string };

/**
 * Past this share of re-encoded video, splitting saves too little to pay for its extra ffmpeg runs and the full
 * re-encode is used instead (a clip with one keyframe leaves almost everything to re-encode).
 */
export const MAX_REENCODED_SHARE = 0.6;

// Times are sums of tick counts converted to seconds: equal times may differ in the last bits.
const EPSILON = 1e-6;

/** A place where a clip's packets can be split: everything before it in decode order is shown before everything after. */
interface Cut {
  /** Decode index of the first packet after the cut. */
  index: number;
  /** Seconds from the clip's first frame to the first frame shown after the cut. */
  at: number;
}

interface ClipCuts {
  /** Cuts right before a keyframe that is shown first after them: where copying (or decoding) can start. */
  keyframes: Cut[];
  /** Every cut (keyframes too): where copying can stop. With B-frames, one at the end of each group of them. */
  cuts: Cut[];
  /** The clip's frames as times from its first frame, in display order. */
  shown: number[];
}

/**
 * Plans a cross-faded stitch that re-encodes only around the fades. Clip i is copied from its first keyframe at or
 * after the end of its incoming fade to the last cut at or before the start of its outgoing fade (a keyframe, or the
 * end of a group of B-frames: a copy may stop wherever its packets form a prefix in decode order, though it can only
 * start at a keyframe). Each piece in between is re-encoded from where the copy stopped, through the fade, to the next
 * clip's first copied keyframe. A clip with no keyframe between its fades is re-encoded whole, inside the piece that
 * spans it.
 */
export function planCrossfade(clips: PlanClip[], crossfadeSeconds: number): CrossfadePlan {
  const xf = crossfadeSeconds;
  if (clips.length < 2 || !(xf > 0)) return { ok: false, reason: 'nothing to cross-fade' };
  const cuts: ClipCuts[] = [];
  for (const [i, clip] of clips.entries()) {
    const found = findCuts(clip.packets);
    if (!found) return { ok: false, reason: `clip ${i + 1} has no video packets` };
    if (found.keyframes[0]?.at !== 0) return { ok: false, reason: `clip ${i + 1} does not start with a keyframe` };
    cuts.push(found);
  }

  const last = clips.length - 1;
  // Per clip: where its copied part starts (a keyframe; none = nothing to copy) and where it stops.
  const copyFrom = cuts.map((c, i) => (i === 0 ? c.keyframes[0] : c.keyframes.find((k) => k.at >= xf - EPSILON)));
  const copyUntil = cuts.map((c, i) => {
    if (i === last) return undefined;
    const fadeStart = clips[i].durationSeconds - xf;
    return c.cuts.filter((k) => k.at <= fadeStart + EPSILON).pop();
  });
  const splits = clips.map((clip, i) => {
    const from = copyFrom[i];
    if (!from) return false;
    return i === last ? from.at < clip.durationSeconds - EPSILON : copyUntil[i]!.at >= from.at;
  });

  const pieces: Array<CopyPiece | TransitionPiece> = [];
  let reencodedSeconds = 0;
  let i = 0;
  for (;;) {
    // Clip i is split here: copy its middle, then re-encode from where the copy stops to the next split clip.
    const from = copyFrom[i]!;
    const until = copyUntil[i];
    const copy = copyPiece(i, clips[i], from, until);
    if (copy) pieces.push(copy);
    if (i === last) break;
    let next = i + 1;
    while (next <= last && !splits[next]) next++;
    const seek = cuts[i].keyframes.filter((k) => k.at <= until!.at + EPSILON).pop()!;
    const inputs: TransitionInput[] = [
      {
        clip: i,
        fromSeconds: until!.at,
        seekSeconds: seek.at,
        skipFrames: countBetween(cuts[i].shown, seek.at, until!.at),
        seconds: clips[i].durationSeconds - until!.at,
      },
    ];
    for (let j = i + 1; j < Math.min(next, last + 1); j++) {
      inputs.push({ clip: j, fromSeconds: 0, seekSeconds: 0, skipFrames: 0, seconds: clips[j].durationSeconds });
    }
    if (next <= last) {
      const to = copyFrom[next]!.at;
      const frames = countBetween(cuts[next].shown, 0, to);
      inputs.push({ clip: next, fromSeconds: 0, seekSeconds: 0, skipFrames: 0, frames, seconds: to });
    }
    const seconds = inputs.reduce((sum, input) => sum + input.seconds, 0) - (inputs.length - 1) * xf;
    pieces.push({ kind: 'transition', inputs, seconds });
    reencodedSeconds += seconds;
    if (next > last) break;
    i = next;
  }

  const totalSeconds = clips.reduce((sum, c) => sum + c.durationSeconds, 0) - last * xf;
  if (reencodedSeconds > MAX_REENCODED_SHARE * totalSeconds) {
    return {
      ok: false,
      reason:
        `too few keyframes: ${reencodedSeconds.toFixed(2)} of ${totalSeconds.toFixed(2)} s would be re-encoded ` +
        `(more than ${Math.round(MAX_REENCODED_SHARE * 100)} %)`,
    };
  }
  return { ok: true, pieces, reencodedSeconds, totalSeconds };
}

function copyPiece(clip: number, info: PlanClip, from: Cut, until: Cut | undefined): CopyPiece | undefined {
  const end = until?.index ?? info.packets.length;
  if (end <= from.index) return undefined;
  const packets = info.packets.slice(from.index, end);
  const startPts = info.packets[from.index].pts;
  const seconds = (until ? until.at : info.durationSeconds) - from.at;
  return {
    kind: 'copy',
    clip,
    inpointSeconds: startPts,
    outpointSeconds: until && (info.packets[until.index - 1].dts + info.packets[until.index].dts) / 2,
    frames: packets.length,
    seconds,
    firstDtsSeconds: packets[0].dts - startPts,
    lastDtsSeconds: packets[packets.length - 1].dts - startPts,
  };
}

/** Frames shown at or after `from` and before `to`. */
function countBetween(shown: number[], from: number, to: number): number {
  return shown.filter((t) => t >= from - EPSILON && t < to - EPSILON).length;
}

/**
 * Where a clip's packets can be cut: before packet j when every packet before it in decode order is shown before
 * every packet from it on. A keyframe is a place to start only if it is itself shown first after such a cut: an
 * open-GOP I-frame, whose leading pictures come after it in decode order and need the GOP before, is not.
 */
function findCuts(packets: VideoPacket[]): ClipCuts | undefined {
  if (packets.length === 0) return undefined;
  const firstPts = Math.min(...packets.map((p) => p.pts));
  const suffixMin: number[] = new Array<number>(packets.length);
  let min = Infinity;
  for (let j = packets.length - 1; j >= 0; j--) {
    min = Math.min(min, packets[j].pts);
    suffixMin[j] = min;
  }
  const keyframes: Cut[] = [];
  const cuts: Cut[] = [];
  let prefixMax = -Infinity;
  for (const [j, p] of packets.entries()) {
    if (prefixMax < suffixMin[j]) {
      const cut = { index: j, at: suffixMin[j] - firstPts };
      cuts.push(cut);
      if (p.key && p.pts === suffixMin[j]) keyframes.push(cut);
    }
    prefixMax = Math.max(prefixMax, p.pts);
  }
  const shown = packets.map((p) => p.pts - firstPts).sort((a, b) => a - b);
  return { keyframes, cuts, shown };
}
