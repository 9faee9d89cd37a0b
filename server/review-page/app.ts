// The review page's script. It runs in the browser, bundled ahead of time by `npm run build:review-page` into
// ./dist/review.js (checked in, and checked current in CI); nothing is fetched from anywhere but this server.
import type { ClipAttempt, KeyframeProgress, ShotProgress, StoryProgress } from '../../common/progress';
import { isTerminalStage, STAGE_LABELS, STAGES } from '../../common/stages';

/** Progress as `GET /v1/stories/:id` sends it (files as URLs only). */
type Progress = StoryProgress;

const POLL_MS = 1000;

const main = byId('main');
const storyId = main.dataset.storyId ?? '';
const query = new URLSearchParams(location.search);
const exp = query.get('exp');
const sig = query.get('sig');
// The link's signature rides along in a header, so it never lands in the API's access log as a query string.
const credentials: Record<string, string> = exp && sig ? { 'X-Review-Link': `${exp}.${sig}` } : {};
const apiRoot = `/v1/stories/${encodeURIComponent(storyId)}`;

let current: Progress | undefined;
let keyframesKey = '';
let finalKey = '';
const shotKeys = new Map<number, string>();
/** Variations the reviewer chose that the server does not know yet, by boundary. */
const picks = new Map<number, number>();
/** Text typed into text areas, by element id, so a re-render never loses it. */
const drafts = new Map<string, string>();
let busy = false;
let lastAnnounced = '';
let pollTimer: number | undefined;
let polling = false;
/** Set when the API refuses the link or knows no such story: polling again would not change that. */
let stopped = false;

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

/** Creates an element; text is always set as text, never parsed as HTML. */
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string | boolean | number>> = {},
  ...children: Array<Node | string | undefined | false>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (name === 'text') el.textContent = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== undefined && child !== false) el.append(child);
  return el;
}

/** Asset URLs are absolute under the public URL Luma uses; load them from this page's own origin instead. */
function local(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url, location.href);
    return u.pathname.includes('/assets/') ? u.pathname + u.search : url;
  } catch {
    return url;
  }
}

async function call<T>(path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...credentials };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(apiRoot + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const data = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  if (!res.ok) throw new RequestError(res.status, data?.error?.message ?? `the server answered ${res.status}`);
  return data as T;
}

function showAlert(message: string | undefined): void {
  const alert = byId('alert');
  alert.hidden = !message;
  alert.textContent = message ?? '';
}

function announce(message: string): void {
  if (message === lastAnnounced) return;
  lastAnnounced = message;
  byId('status').textContent = message;
}

async function poll(): Promise<void> {
  pollTimer = undefined;
  polling = true;
  try {
    render(await call<Progress>(''));
    if (byId('alert').dataset.kind === 'connection') showAlert(undefined);
  } catch (err) {
    const status = err instanceof RequestError ? err.status : 0;
    if (status === 401 || status === 403 || status === 404) {
      stopped = true;
      showAlert(`${(err as Error).message}.`);
      return;
    }
    showAlert(`Could not reach the server (${(err as Error).message}); retrying…`);
    byId('alert').dataset.kind = 'connection';
  } finally {
    polling = false;
  }
  schedulePoll();
}

function schedulePoll(): void {
  // A hidden tab does not poll; it catches up the moment it is shown again.
  if (stopped || document.hidden || polling || pollTimer !== undefined) return;
  if (current && isTerminalStage(current.stage)) return;
  pollTimer = window.setTimeout(() => void poll(), POLL_MS);
}

/** Sends a review; the answer is the new progress, shown at once. */
async function send(path: string, body: unknown, done: string): Promise<boolean> {
  setBusy(true);
  try {
    render(await call<Progress>(path, body));
    showAlert(undefined);
    announce(done);
    return true;
  } catch (err) {
    showAlert((err as Error).message);
    return false;
  } finally {
    setBusy(false);
  }
}

function setBusy(value: boolean): void {
  busy = value;
  main.setAttribute('aria-busy', String(value));
  main.querySelectorAll('button').forEach((button) => (button.disabled = value));
}

// ---- rendering -------------------------------------------------------------------------------------------------

function render(p: Progress): void {
  const stageChanged = current?.stage !== p.stage;
  current = p;
  byId('title').textContent = p.title || storyId;
  const stage = byId('stage');
  stage.textContent = STAGE_LABELS[p.stage];
  stage.dataset.stage = p.stage;
  document.title = `${STAGE_LABELS[p.stage]} · ${p.title} · reelflow`;
  const cost = p.cost;
  byId('credits').textContent =
    `${round(cost.used)} used of about ${round(cost.estimated.credits)} (≈ $${cost.dollars.toFixed(2)})`;
  byId('budget').textContent =
    (cost.budgetCredits === undefined ? 'no limit' : `${round(cost.budgetCredits)} credits`) +
    (cost.waitingForBudget ? ' — waiting for a higher budget' : '');
  if (stageChanged) announce(`Stage: ${STAGE_LABELS[p.stage]}`);

  keepFocus(() => {
    renderKeyframes(p);
    renderShots(p);
    renderFinal(p);
  });
  if (busy) setBusy(true);
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Re-renders parts of the page without losing the keyboard focus. */
function keepFocus(fn: () => void): void {
  const focused = document.activeElement instanceof HTMLElement ? document.activeElement.id : '';
  fn();
  if (focused && document.activeElement?.id !== focused) document.getElementById(focused)?.focus();
}

function boundaryName(b: number, boundaries: number): string {
  if (b === 0) return 'Opening frame';
  if (b === boundaries - 1) return 'Closing frame';
  return `Between shot ${b} and shot ${b + 1}`;
}

function renderKeyframes(p: Progress): void {
  const section = byId('keyframes');
  section.hidden = p.keyframes.length === 0;
  const editable = p.stage === 'awaiting-keyframe-review';
  const key = JSON.stringify([
    editable,
    p.keyframes.map((k) => [k.prompt, k.round, k.state, k.picked, k.variations.map((v) => [v.state, v.url])]),
  ]);
  if (key === keyframesKey) return;
  keyframesKey = key;
  if (!editable) picks.clear();

  byId('keyframes-help').textContent = editable
    ? 'Pick one picture for each frame, or ask for new variations with a changed prompt. ' +
      'Nothing is spent on video until you approve.'
    : p.stage === 'keyframes'
      ? 'The keyframes are being made; this page updates by itself.'
      : 'The chosen keyframes (the storyboard of the story).';
  byId('keyframes-actions').hidden = !editable;
  byId('boundaries').replaceChildren(...p.keyframes.map((kf) => boundaryFieldset(kf, p.keyframes.length, editable)));
}

function boundaryFieldset(kf: KeyframeProgress, boundaries: number, editable: boolean): HTMLFieldSetElement {
  const b = kf.boundary;
  const chosen = picks.get(b) ?? kf.picked;
  const supplied = kf.variations.some((v) => v.supplied);
  const variations = kf.variations.map((v) => {
    const id = `kf-${b}-${v.index}`;
    const src = local(v.url);
    const picture =
      v.state === 'ready' && src
        ? h('img', { src, alt: `Frame ${b + 1}, variation ${v.index + 1}`, loading: 'lazy', decoding: 'async' })
        : h('div', {
            class: 'placeholder',
            text: v.state === 'failed' ? `failed${v.error ? `: ${v.error}` : ''}` : v.state,
          });
    const input = h('input', {
      type: 'radio',
      name: `kf-${b}`,
      id,
      value: v.index,
      checked: chosen === v.index,
      disabled: !editable || v.state !== 'ready',
    });
    input.addEventListener('change', () => picks.set(b, v.index));
    return h('label', { class: 'variation', for: id }, picture, h('span', {}, input, `Variation ${v.index + 1}`));
  });

  const fieldset = h(
    'fieldset',
    { class: 'boundary', id: `boundary-${b}` },
    h('legend', {
      text: `Frame ${b + 1}: ${boundaryName(b, boundaries)}${kf.round > 1 ? ` (round ${kf.round})` : ''}`,
    }),
    h('p', { class: 'prompt', text: kf.prompt }),
    h('div', { class: 'variations' }, ...variations)
  );
  if (editable && !supplied) fieldset.append(regenerateControls(kf));
  return fieldset;
}

function regenerateControls(kf: KeyframeProgress): HTMLDetailsElement {
  const b = kf.boundary;
  const areaId = `prompt-${b}`;
  const area = h('textarea', { id: areaId, rows: 3, minlength: 3, maxlength: 5000 });
  area.value = drafts.get(areaId) ?? kf.prompt;
  area.addEventListener('input', () => drafts.set(areaId, area.value));
  const button = h('button', { type: 'button', id: `regenerate-${b}`, text: `Regenerate frame ${b + 1}` });
  button.addEventListener('click', () => void regenerate(kf, area.value));
  const details = h(
    'details',
    { open: drafts.has(areaId) },
    h('summary', { text: 'Not right? Regenerate this frame' }),
    h('label', { class: 'field', for: areaId, text: 'Prompt for the new variations' }),
    area,
    h('div', { class: 'actions' }, button)
  );
  return details;
}

function pickList(): Array<{ boundary: number; variation: number }> {
  return [...picks].map(([boundary, variation]) => ({ boundary, variation }));
}

async function regenerate(kf: KeyframeProgress, text: string): Promise<void> {
  const prompt = text.trim();
  if (prompt.length < 3) {
    showAlert('The prompt needs at least 3 characters.');
    byId(`prompt-${kf.boundary}`).focus();
    return;
  }
  const body = {
    picks: pickList(),
    regenerate: [{ boundary: kf.boundary, ...(prompt !== kf.prompt ? { prompt } : {}) }],
  };
  if (await send('/keyframes/review', body, `Frame ${kf.boundary + 1} is being regenerated.`)) {
    drafts.delete(`prompt-${kf.boundary}`);
    picks.clear();
  }
}

async function approveKeyframes(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  if (busy) return;
  if (await send('/keyframes/review', { picks: pickList(), approve: true }, 'Keyframes approved; making the clips.')) {
    picks.clear();
  }
}

function clipOf(shot: ShotProgress): string | undefined {
  const attempt = [...shot.attempts].reverse().find((a: ClipAttempt) => a.clip);
  return local(shot.clip?.url ?? attempt?.clip?.url);
}

function renderShots(p: Progress): void {
  const section = byId('shots');
  const started = p.shots.some((s) => s.attempts.length > 0 || s.state !== 'pending');
  // Before any clip exists, the section shows once the story reaches the shots (and stays for a completed one).
  const reachedShots = STAGES.indexOf(p.stage) >= STAGES.indexOf('shots');
  section.hidden = !started && !(reachedShots && (p.stage === 'completed' || !isTerminalStage(p.stage)));
  if (section.hidden) return;
  const list = byId('shot-list');
  p.shots.forEach((shot, i) => {
    const last = shot.attempts.at(-1);
    const key = JSON.stringify([
      shot.state,
      clipOf(shot),
      shot.attempts.length,
      last?.state,
      round(shot.credits),
      shot.provider,
      shot.model,
    ]);
    let item = document.getElementById(`shot-${i}`);
    if (item && shotKeys.get(i) === key) return;
    shotKeys.set(i, key);
    const fresh = shotItem(shot);
    if (item) item.replaceWith(fresh);
    else list.append(fresh);
    item = fresh;
  });
}

function shotItem(shot: ShotProgress): HTMLLIElement {
  const n = shot.index + 1;
  const clip = clipOf(shot);
  const last = shot.attempts.at(-1);
  const attempts = shot.attempts.filter((a) => a.generationId).length;
  const item = h(
    'li',
    { class: 'shot', id: `shot-${shot.index}` },
    h('h3', { text: `Shot ${n}` }),
    h('p', {}, 'State: ', h('span', { class: 'badge', text: shot.state })),
    shot.model
      ? h('p', {
          class: 'model',
          id: `shot-${shot.index}-model`,
          text: `Model: ${shot.model} (${shot.provider ?? 'luma'})${last?.fallback ? ' · fallback' : ''}`,
        })
      : undefined,
    h('p', { text: `Attempts: ${attempts} · credits: ${round(shot.credits)}` }),
    last?.failureReason ? h('p', { text: `Last failure: ${last.failureReason}` }) : undefined,
    clip
      ? h('video', {
          src: clip,
          controls: true,
          preload: 'metadata',
          playsinline: true,
          'aria-label': `Clip of shot ${n}`,
        })
      : undefined
  );
  if (shot.state === 'awaiting-review') item.append(shotReviewControls(n));
  return item;
}

function shotReviewControls(n: number): HTMLElement {
  const areaId = `feedback-${n}`;
  const area = h('textarea', { id: areaId, rows: 2, maxlength: 1000 });
  area.value = drafts.get(areaId) ?? '';
  area.addEventListener('input', () => drafts.set(areaId, area.value));
  const approve = h('button', { type: 'button', class: 'approve', id: `approve-shot-${n}`, text: `Approve shot ${n}` });
  const reject = h('button', { type: 'button', class: 'reject', id: `reject-shot-${n}`, text: `Reject shot ${n}` });
  approve.addEventListener('click', () => void reviewShot(n, 'approve'));
  reject.addEventListener('click', () => void reviewShot(n, 'reject', area.value.trim()));
  return h(
    'div',
    {},
    h('div', { class: 'actions' }, approve),
    h('label', { class: 'field', for: areaId, text: 'What should change? (needed to reject)' }),
    area,
    h('div', { class: 'actions' }, reject)
  );
}

async function reviewShot(n: number, decision: 'approve' | 'reject', feedback?: string): Promise<void> {
  if (decision === 'reject' && (feedback ?? '').length < 3) {
    showAlert('Say what should change (at least 3 characters) to reject a clip.');
    byId(`feedback-${n}`).focus();
    return;
  }
  const body = decision === 'approve' ? { decision } : { decision, feedback };
  const done = decision === 'approve' ? `Shot ${n} approved.` : `Shot ${n} rejected; it will be made again.`;
  if (await send(`/shots/${n}/review`, body, done)) drafts.delete(`feedback-${n}`);
}

function renderFinal(p: Progress): void {
  const section = byId('final');
  section.hidden = !isTerminalStage(p.stage);
  const key = JSON.stringify([p.stage, p.output?.video.url, p.error]);
  if (section.hidden || key === finalKey) return;
  finalKey = key;
  const body: Node[] = [];
  if (p.output) {
    const src = local(p.output.video.url);
    body.push(
      h('video', {
        id: 'final-video',
        src,
        poster: local(p.output.poster.url),
        controls: true,
        preload: 'auto',
        playsinline: true,
        'aria-label': `Final video of ${p.title}`,
      }),
      h(
        'p',
        {},
        `${round(p.output.durationSeconds)} s · `,
        h('a', { href: src, download: `${storyId}.mp4`, text: 'Download the MP4' }),
        ' · ',
        h('a', { href: local(p.output.storyboard.url), text: 'Storyboard' })
      )
    );
  }
  if (p.stage === 'failed') body.push(h('p', { text: `The story failed: ${p.error ?? 'unknown reason'}` }));
  if (p.stage === 'cancelled') body.push(h('p', { text: 'The story was cancelled.' }));
  byId('final-body').replaceChildren(...body);
}

byId<HTMLFormElement>('keyframes-form').addEventListener('submit', (e) => void approveKeyframes(e));
document.addEventListener('visibilitychange', () => {
  if (
    !document.hidden &&
    !stopped &&
    !polling &&
    pollTimer === undefined &&
    !(current && isTerminalStage(current.stage))
  ) {
    void poll();
  }
});
void poll();
