import type { StorySpecInput } from '../../common/story';
import { smallStory } from '../stories';
import type { CorpusFiles } from './files';

/** The doors bad input comes through. */
export type Door = 'cli' | 'http' | 'library';

/** The kinds of bad input the issue lists. */
export type CaseKind = 'story rule' | 'id' | 'review' | 'keyframe file' | 'audio file' | 'url';

/** A bad story (or a good story under a bad id), tried through each of its doors. */
export interface StoryInput {
  kind: Exclude<CaseKind, 'review'>;
  name: string;
  /** What the refusal must name: the field as the story file spells it (`shots[0].duration`, `keyframes[0]`). */
  names: string;
  doors: Door[];
  story: unknown;
  /** A bad story id (kind `id`). */
  id?: string;
  /**
   * A URL whose fetch would leave this machine if a guard let it through: sent only when the suite runs in a network
   * namespace with loopback alone.
   */
  offLoopback?: boolean;
}

/** A bad review of a story waiting for its keyframe review. */
export interface ReviewInput {
  kind: 'review';
  name: string;
  /** What the refusal must name (any one of them). */
  names: string | string[];
  doors: Door[];
  what: 'keyframes' | 'shot';
  /** Shot number as people count (1 = first) for shot reviews. */
  shot?: number | string;
  body?: unknown;
  /** A raw HTTP body (a huge one); HTTP only. */
  rawBody?: () => string;
  /** The same review on the command line (`reelflow review …` after the story id); CLI only. */
  cli?: string[];
}

/** One case of the corpus: an input through one door. */
export type CorpusCase = (StoryInput | ReviewInput) & { door: Door };

/** Addresses of the stack the URL cases point at. */
export interface CorpusTargets {
  /** The corpus's own server (see servers.ts): on loopback, and on a public-looking alias inside the namespace. */
  hostile: { origin: string; port: number; publicOrigin?: string };
  /** The emulator: its host is allowed for provider downloads, never for a story's inputs. */
  emulatorOrigin: string;
}

const base = (): StorySpecInput => smallStory({ title: 'chaos r4 bad input', shots: 2, keyframeReview: true });
const ALL: Door[] = ['cli', 'http', 'library'];
/** Local files can only come through the CLI and the library (the API refuses paths on its own). */
const LOCAL: Door[] = ['cli', 'library'];
const REMOTE: Door[] = ['http', 'library'];

function rule(name: string, names: string, change: (s: Record<string, unknown>) => void): StoryInput {
  const story = base() as unknown as Record<string, unknown>;
  change(story);
  return { kind: 'story rule', name, names, doors: ALL, story };
}

const shot0 = (s: Record<string, unknown>) => (s.shots as Array<Record<string, unknown>>)[0];

/** One rule of `common/story.ts` per case (and a few wrong types), each naming its field. */
function storyRules(): StoryInput[] {
  return [
    rule('title missing', 'title', (s) => delete s.title),
    rule('title blank', 'title', (s) => (s.title = '   ')),
    rule('title too long', 'title', (s) => (s.title = 't'.repeat(201))),
    rule('style too long', 'style', (s) => (s.style = 's'.repeat(1001))),
    rule('aspect ratio unknown', 'aspectRatio', (s) => (s.aspectRatio = '2:1')),
    rule('resolution unknown', 'resolution', (s) => (s.resolution = '8k')),
    rule('video model unknown', 'videoModel', (s) => (s.videoModel = 'ray-9')),
    rule('image model unknown', 'imageModel', (s) => (s.imageModel = 'dall-e')),
    rule('mode unknown', 'mode', (s) => (s.mode = 'sequential')),
    rule('variations 0', 'variations', (s) => (s.variations = 0)),
    rule('variations 5', 'variations', (s) => (s.variations = 5)),
    rule('variations as text', 'variations', (s) => (s.variations = '3')),
    rule('review timeout not a duration', 'review.timeout', (s) => (s.review = { timeout: 'forever' })),
    rule('review onTimeout unknown', 'review.onTimeout', (s) => (s.review = { onTimeout: 'retry' })),
    rule('review maxRounds 0', 'review.maxRounds', (s) => (s.review = { maxRounds: 0 })),
    rule('review unknown key', 'autoApprove', (s) => (s.review = { keyframes: true, autoApprove: true })),
    rule('generationTimeout under 1 s', 'generationTimeout', (s) => (s.generationTimeout = '500ms')),
    rule('crossfade over 2 s', 'transition.crossfade', (s) => (s.transition = { crossfade: 3 })),
    rule('audio without src', 'audio.src', (s) => (s.audio = { volume: 1 })),
    rule('audio volume 5', 'audio.volume', (s) => (s.audio = { src: 'https://example.invalid/a.mp3', volume: 5 })),
    rule('budget negative', 'budgetCredits', (s) => (s.budgetCredits = -1)),
    rule('onBudgetExceeded unknown', 'onBudgetExceeded', (s) => (s.onBudgetExceeded = 'ignore')),
    rule('maxParallelShots 0', 'maxParallelShots', (s) => (s.maxParallelShots = 0)),
    rule('maxClipAttempts 11', 'maxClipAttempts', (s) => (s.maxClipAttempts = 11)),
    rule('no shots', 'shots', (s) => (s.shots = [])),
    rule('51 shots', 'shots', (s) => (s.shots = Array.from({ length: 51 }, () => shot0(s)))),
    rule('shot description too short', 'shots[0].description', (s) => (shot0(s).description = 'hi')),
    rule('shot description too long', 'shots[0].description', (s) => (shot0(s).description = 'd'.repeat(5001))),
    rule('style + description past 5000', 'shots[1].description', (s) => {
      s.style = 's'.repeat(1000);
      (s.shots as Array<Record<string, unknown>>)[1].description = 'd'.repeat(4500);
    }),
    rule('shot duration 7', 'shots[0].duration', (s) => (shot0(s).duration = 7)),
    rule('shot keyframePrompt too short', 'shots[0].keyframePrompt', (s) => (shot0(s).keyframePrompt = 'x')),
    rule('shot unknown key', 'camera', (s) => (shot0(s).camera = 'dolly')),
    rule('unknown top-level key', 'colour', (s) => (s.colour = 'teal')),
    rule('keyframes of the wrong length', 'keyframes', (s) => (s.keyframes = [null])),
    rule('shots not a list', 'shots', (s) => (s.shots = 'three shots')),
  ];
}

/** Bad story ids: traversal, too long, control characters, look-alike letters, a leading dash. */
function ids(): StoryInput[] {
  const good = base();
  const id = (name: string, value: string, doors: Door[] = ALL): StoryInput => ({
    kind: 'id',
    name,
    names: 'id',
    doors,
    story: good,
    id: value,
  });
  return [
    id('path traversal', '../../etc/passwd'),
    id('encoded traversal', '..%2F..%2Fetc'),
    id('81 characters', 'a'.repeat(81)),
    id('10 000 characters', 'b'.repeat(10_000)),
    // A NUL cannot be given on a command line at all, so it is tried through the other doors.
    id('NUL byte', 'story\u0000x', REMOTE),
    id('newline', 'story\nx'),
    id('ANSI escape', '\u001b[31mred'),
    id('Cyrillic look-alike', '\u0455tory-1'),
    id('full-width digit', 'story-\uff11'),
    id('spaces', 'my story'),
    id('leading dash', '-rf'),
  ];
}

/** Supplied keyframe and audio files that are not what their names say, or too much of it. */
function files(f: CorpusFiles): StoryInput[] {
  const keyframe = (name: string, file: string): StoryInput => ({
    kind: 'keyframe file',
    name,
    names: 'keyframes[0]',
    doors: LOCAL,
    story: { ...base(), keyframes: [file, null, null] },
  });
  const audio = (name: string, file: string): StoryInput => ({
    kind: 'audio file',
    name,
    names: 'audio.src',
    doors: LOCAL,
    story: { ...base(), audio: { src: file, volume: 1 } },
  });
  return [
    keyframe('truncated PNG', f.truncatedPng),
    keyframe('text named .png', f.textNamedPng),
    keyframe('20 000 × 20 000 px decompression bomb', f.bombPng),
    keyframe('SVG with external references', f.externalSvg),
    keyframe('animated GIF', f.animatedGif),
    keyframe('a system file (/etc/passwd)', '/etc/passwd'),
    keyframe('a file that does not exist', `${f.dir}/missing.png`),
    keyframe('a directory', f.dir),
    audio('random bytes named .mp3', f.notAudio),
    audio('a PNG named .mp3', f.pngNamedMp3),
    audio('ten hours of audio', f.tenHourAudio),
    audio('a file that does not exist', `${f.dir}/missing.mp3`),
  ];
}

/** URLs a worker must never fetch for a story: other schemes, this machine, private nets, tricks. */
function urls(t: CorpusTargets): StoryInput[] {
  const p = t.hostile.port;
  const keyframe = (name: string, url: string, doors: Door[] = REMOTE, offLoopback = false): StoryInput => ({
    kind: 'url',
    name,
    names: 'keyframes[0]',
    doors,
    story: { ...base(), keyframes: [url, null, null] },
    offLoopback,
  });
  const off = (name: string, url: string) => keyframe(name, url, REMOTE, true);
  const audio = (name: string, url: string, offLoopback = false): StoryInput => ({
    kind: 'url',
    name,
    names: 'audio.src',
    doors: REMOTE,
    story: { ...base(), audio: { src: url, volume: 1 } },
    offLoopback,
  });
  const emulator = new URL(t.emulatorOrigin);
  // Without the namespace's alias these cases are not sent at all (offLoopback), so the placeholder is never used.
  const pub = t.hostile.publicOrigin ?? 'http://public-alias.invalid';
  return [
    keyframe('file:// URL', 'file:///etc/passwd', ALL),
    keyframe('loopback 127.0.0.1', `http://127.0.0.1:${p}/good.png`, ALL),
    keyframe('localhost', `http://localhost:${p}/good.png`),
    keyframe('IPv6 loopback', `http://[::1]:${p}/good.png`),
    keyframe('0.0.0.0', `http://0.0.0.0:${p}/good.png`),
    keyframe('decimal IPv4 (2130706433)', `http://2130706433:${p}/good.png`),
    keyframe('short IPv4 (127.1)', `http://127.1:${p}/good.png`),
    off('cloud metadata 169.254.169.254', 'http://169.254.169.254/latest/meta-data/'),
    off('link-local 169.254.1.1', 'http://169.254.1.1/x.png'),
    off('IPv6 link-local', 'http://[fe80::1]/x.png'),
    off('private 10.0.0.1', 'http://10.0.0.1/x.png'),
    keyframe('IPv4-mapped loopback', `http://[::ffff:127.0.0.1]:${p}/good.png`),
    off('IPv4-mapped metadata', 'http://[::ffff:a9fe:a9fe]/latest/meta-data/'),
    off('NAT64 of loopback (64:ff9b::/96)', `http://[64:ff9b::7f00:1]:${p}/good.png`),
    off('NAT64 of metadata (64:ff9b::/96)', 'http://[64:ff9b::a9fe:a9fe]/latest/meta-data/'),
    off('6to4 of loopback (2002::/16)', `http://[2002:7f00:1::1]:${p}/good.png`),
    off('6to4 of metadata (2002::/16)', 'http://[2002:a9fe:a9fe::1]/latest/meta-data/'),
    // The same hostile server on a public-looking address (only in the namespace, where it is loopback too): the
    // guard lets the first hop through, so the redirect check and the time and size caps have to do the refusing.
    off('a public host redirecting to the metadata address', `${pub}/redirect-metadata`),
    off('a public host redirecting to loopback', `${pub}/redirect-loopback`),
    off('a public host that trickles bytes', `${pub}/trickle.png`),
    off('a public host with an endless body', `${pub}/endless.png`),
    keyframe('loopback redirecting to the metadata address', `http://127.0.0.1:${p}/redirect-metadata`),
    keyframe("the provider's own host (allowed for its assets only)", `${emulator.origin}/__emulator/stats`),
    audio('audio from the metadata address', 'http://169.254.169.254/latest/meta-data/', true),
    audio('audio over NAT64', 'http://[64:ff9b::a9fe:a9fe]/a.mp3', true),
    audio('audio from loopback', `http://127.0.0.1:${p}/endless.png`),
    audio('audio from a public host with an endless body', `${pub}/endless.png`, true),
  ];
}

/** Bad keyframe and shot reviews of a story waiting for its keyframe review. */
function reviews(): ReviewInput[] {
  const kf = (name: string, names: string, body: unknown, cli?: string[], doors: Door[] = ['http', 'library']) => ({
    kind: 'review' as const,
    name,
    names,
    doors: cli ? [...doors, 'cli' as const] : doors,
    what: 'keyframes' as const,
    body,
    cli,
  });
  const shot = (name: string, names: string | string[], n: number | string, body: unknown, cli?: string[]) => ({
    kind: 'review' as const,
    name,
    names,
    doors: (cli ? ['http', 'library', 'cli'] : ['http', 'library']) as Door[],
    what: 'shot' as const,
    shot: n,
    body,
    cli,
  });
  return [
    kf('unknown boundary', 'picks[0].boundary', { picks: [{ boundary: 99, variation: 0 }] }, ['--pick', '99=0']),
    kf('unknown variation', 'picks[0].variation', { picks: [{ boundary: 0, variation: 9 }] }, ['--pick', '0=9']),
    kf('regenerate an unknown boundary', 'regenerate[0].boundary', { regenerate: [{ boundary: 42 }] }, [
      '--regenerate',
      '42',
    ]),
    kf('regenerate prompt too short', 'regenerate[0].prompt', { regenerate: [{ boundary: 0, prompt: 'x' }] }),
    kf('boundary as text', 'picks[0].boundary', { picks: [{ boundary: '0', variation: 0 }] }),
    kf('picks not a list', 'picks', { picks: 'all of them', approve: false }),
    kf('approve as text', 'approve', { approve: 'yes' }),
    kf('negative variation', 'picks[0].variation', { picks: [{ boundary: 0, variation: -1 }] }),
    kf('empty review', 'pick, regenerate or approve', {}),
    // Half a megabyte: under the HTTP body limit, so the field check (at most 5000 characters) must speak.
    kf('a 500 kB regenerate prompt', 'regenerate[0].prompt', {
      regenerate: [{ boundary: 0, prompt: 'p'.repeat(500_000) }],
    }),
    {
      kind: 'review',
      name: 'a 2 MB body',
      names: 'too large',
      doors: ['http'],
      what: 'keyframes',
      rawBody: () => JSON.stringify({ picks: Array.from({ length: 70_000 }, () => ({ boundary: 0, variation: 0 })) }),
    },
    shot('shot review in the keyframe stage (wrong stage)', 'shot 1', 1, { decision: 'approve' }, ['1', '--approve']),
    shot('unknown shot', ['shot', 'shots'], 99, { decision: 'approve' }, ['99', '--approve']),
    shot('shot number 0', 'shot', 0, { decision: 'approve' }, ['0', '--approve']),
    shot('decision unknown', 'decision', 1, { decision: 'maybe' }),
    shot('reject without feedback', 'feedback', 1, { decision: 'reject' }),
    // Last: were unknown keys let through, this one would approve the keyframes.
    kf('approve with an unknown key', 'force', { approve: true, force: true }),
  ];
}

/** The whole corpus, each input once per door. */
export function corpus(files_: CorpusFiles, targets: CorpusTargets): CorpusCase[] {
  const inputs: Array<StoryInput | ReviewInput> = [
    ...storyRules(),
    ...ids(),
    ...files(files_),
    ...urls(targets),
    ...reviews(),
  ];
  return inputs.flatMap((input) => input.doors.map((door) => ({ ...input, door })));
}
