import type { FastifyInstance } from 'fastify';
import { createHmac } from 'node:crypto';
import { loadConfig } from '../config';
import { REVIEW_LINK_HEADER } from '../server/api/auth';
import { createServer } from '../server/server';
import { freePort } from '../dev/temporal-server';
import { pause, type ChaosContext } from './context';
import { startStory } from './driver';
import { apiErrorText, type HttpRequest } from './http';
import { figure, percentOf, type PartResult } from './report';
import { smallStory } from './stories';

/** Who may call a route, as the suite expects it (written down here, apart from the server's own table). */
interface Access {
  /** Credentials that are let in; everything else must be refused. */
  allowed: ReadonlyArray<'backend' | 'reviewer' | 'link'>;
  /** Status for a bearer token of a role that is not allowed (default 403). */
  tokenRefusal?: number;
}

const READ: Access = { allowed: ['backend', 'reviewer', 'link'] };
const BACKEND: Access = { allowed: ['backend'] };
const REVIEW: Access = { allowed: ['reviewer', 'link'] };

/**
 * The expected access of every route, by `METHOD path` in fastify's form (HEAD follows GET). A route the server has
 * and this table does not is a failure of R5 until someone decides who may call it.
 */
export const EXPECTED_ACCESS: Record<string, Access | 'public'> = {
  'POST /v1/stories': BACKEND,
  'GET /v1/stories': { allowed: ['backend', 'reviewer'] },
  'GET /v1/stories/:id': READ,
  'GET /v1/stories/:id/result': READ,
  'POST /v1/stories/:id/review-link': BACKEND,
  'POST /v1/stories/:id/keyframes/review': REVIEW,
  'POST /v1/stories/:id/shots/:n/review': REVIEW,
  'POST /v1/stories/:id/budget': BACKEND,
  'POST /v1/stories/:id/cancel': BACKEND,
  'POST /v1/estimate': BACKEND,
  // The providers, models and prices of the deployment: any role (like the story list), never a review link.
  'GET /v1/models': { allowed: ['backend', 'reviewer'] },
  // The review page takes its signed link in the query; a bearer token is no credential there.
  'GET /review/:id': { allowed: ['link'], tokenRefusal: 401 },
  // Assets need a role or a signed, expiring URL (checked in detail by the asset cells below).
  'GET /assets/*': { allowed: ['backend', 'reviewer'] },
  'GET /openapi.json': 'public',
  'GET /healthz': 'public',
  'GET /review-page/review.js': 'public',
  'GET /review-page/review.css': 'public',
  // Luma's callbacks carry no signature; the route only logs them (workflows poll).
  'POST /v1/luma/callback': 'public',
};

/** One cell of the matrix: a request that must be refused with one of `expected`. */
interface Cell {
  route: string;
  credential: string;
  expected: number[];
  /** What is requested (path and query); unset for a cell decided without a request. */
  target?: string;
  req?: HttpRequest;
  got?: number;
  error?: string;
  pass?: boolean;
}

/**
 * Every route of the server as fastify has it, read from `printRoutes()` of a server built from the same code as
 * the running one (its radix tree: a route's path is its ancestors' segments joined).
 */
export async function serverRoutes(dataDir: string): Promise<string[]> {
  const config = loadConfig({ REELFLOW_DATA_DIR: dataDir, REELFLOW_API_TOKENS: 'route-list:backend' });
  let app: FastifyInstance | undefined;
  try {
    app = await createServer({ config, client: {} as never });
    await app.ready();
    return parseRouteTree(app.printRoutes());
  } finally {
    await app?.close();
  }
}

/** Parses fastify's `printRoutes()` tree into `METHOD path` strings. */
export function parseRouteTree(tree: string): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const raw of tree.split('\n')) {
    if (!raw.trim()) continue;
    const start = raw.search(/[^│├└─\s]/u);
    if (start < 0) continue;
    const depth = Math.round(start / 4);
    const text = raw.slice(start);
    const m = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(text)!;
    stack.length = depth;
    stack[depth] = m[1];
    if (m[2]) {
      const full = stack.join('').replace(/\/+/g, '/');
      for (const method of m[2].split(',').map((x) => x.trim())) routes.push(`${method} ${full}`);
    }
  }
  return [...new Set(routes)].sort();
}

/** `METHOD /path/{param}` of every operation in an OpenAPI document, in fastify's form. */
function openApiRoutes(doc: { paths?: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths ?? {}).flatMap(([p, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => `${m.toUpperCase()} ${p.replace(/\{([^}]+)\}/g, ':$1')}`)
  );
}

/**
 * R5 access: every route × (no token, wrong role, another story's review link, a tampered link, an expired link),
 * every file of a finished story fetched without the right to see it, and a server started without tokens.
 * Figure: each refused with the right status.
 */
export async function runAccess(ctx: ChaosContext, finishedStoryId: string | undefined): Promise<PartResult> {
  const started = Date.now();
  const fastifyRoutes = await serverRoutes(ctx.stack.dirs.data);
  const openApi = await ctx.http.request('GET', '/openapi.json');
  const documented = openApiRoutes((openApi.json ?? {}) as { paths?: Record<string, Record<string, unknown>> });
  const undocumentedInFastify = documented.filter((r) => !fastifyRoutes.includes(r));

  // Story A is the one whose routes are called; B lends its (valid) review link.
  const a = { id: 'r5-a', story: smallStory({ title: 'chaos r5 a', shots: 1, keyframeReview: true }) };
  const b = { id: 'r5-b', story: smallStory({ title: 'chaos r5 b', shots: 1, keyframeReview: true, offset: 2 }) };
  const deadline = Date.now() + 120_000;
  for (const s of [a, b])
    await startStory(ctx, { ...s, start: 'library', review: 'library', rejectFirstClip: false }, deadline);
  const now = Math.floor(Date.now() / 1000);
  const own = reviewLink(ctx.reviewSecret, a.id, now + 3600);
  const foreign = reviewLink(ctx.reviewSecret, b.id, now + 3600);
  const expired = reviewLink(ctx.reviewSecret, a.id, now - 3600);
  const tampered = { exp: own.exp, sig: flipLastHex(own.sig) };

  const assetPaths = finishedStoryId ? await assetUrlsOf(ctx, finishedStoryId) : [];
  const cells: Cell[] = [];
  const escaped: string[] = [];
  for (const route of fastifyRoutes) {
    const [method, pattern] = route.split(' ');
    const key = `${method === 'HEAD' ? 'GET' : method} ${pattern}`;
    const access = EXPECTED_ACCESS[key];
    if (access === undefined) {
      escaped.push(route);
      cells.push({ route, credential: '(no expectation: add it to EXPECTED_ACCESS)', expected: [], pass: false });
      continue;
    }
    if (access === 'public') continue;
    const assetPath = assetPaths[0] ? new URL(assetPaths[0]).pathname.replace(/^\/assets\//, '') : `${a.id}/x.png`;
    const path = pattern.replace(':id', a.id).replace(':n', '1').replace('*', assetPath);
    const page = pattern === '/review/:id';
    const withLink = (l: { exp: string; sig: string }): HttpRequest =>
      page ? {} : { headers: { [REVIEW_LINK_HEADER]: `${l.exp}.${l.sig}` } };
    const url = (l?: { exp: string; sig: string }) => (page && l ? `${path}?exp=${l.exp}&sig=${l.sig}` : path);
    const storyRoute = pattern.includes(':id');
    const add = (credential: string, expected: number[], target: string, req: HttpRequest) =>
      cells.push({ route, credential, expected, target, req });
    add('no token', [401], url(), {});
    for (const role of ['backend', 'reviewer'] as const) {
      if (!access.allowed.includes(role)) {
        add(`wrong role (${role} token)`, [access.tokenRefusal ?? 403], url(), { token: ctx.tokens[role] });
      }
    }
    if (storyRoute && !access.allowed.includes('link')) {
      add("wrong role (the story's own review link)", [403], url(own), withLink(own));
    }
    add("another story's review link", [403], url(foreign), withLink(foreign));
    add('a tampered link', [403], url(tampered), withLink(tampered));
    add('an expired link', [403], url(expired), withLink(expired));
  }

  // Every file of a finished story, fetched without the right to see it.
  for (const full of assetPaths) {
    const u = new URL(full);
    const bare = u.pathname;
    const rel = decodeURIComponent(bare.replace(/^\/assets\//, ''));
    const route = `asset ${rel.replace(/^[^/]+\/[^/]+\//, '…/')}`;
    const addAsset = (credential: string, expected: number[], target: string, req: HttpRequest = {}) =>
      cells.push({ route, credential, expected, target, req });
    const signed = { exp: u.searchParams.get('exp') ?? String(now + 3600), sig: u.searchParams.get('sig') ?? '' };
    const otherFile = assetPaths.find((p) => p !== full);
    const expiredUrl = assetSignature(ctx.reviewSecret, rel, now - 60);
    addAsset('no credentials (the URL without its signature)', [401], bare);
    addAsset("another story's review link", [403], bare, {
      headers: { [REVIEW_LINK_HEADER]: `${foreign.exp}.${foreign.sig}` },
    });
    addAsset(
      'a tampered signature',
      [403],
      `${bare}?exp=${signed.exp}&sig=${flipLastHex(signed.sig || '0'.repeat(64))}`
    );
    addAsset('an expired signed URL', [403], `${bare}?exp=${expiredUrl.exp}&sig=${expiredUrl.sig}`);
    if (otherFile) {
      const o = new URL(otherFile);
      const theirs =
        o.search ||
        `?${new URLSearchParams(assetSignature(ctx.reviewSecret, decodeURIComponent(o.pathname.replace(/^\/assets\//, '')), now + 3600)).toString()}`;
      addAsset("another file's signature", [403], `${bare}${theirs}`);
    }
  }

  for (const cell of cells) {
    if (cell.pass === false || cell.target === undefined) continue;
    const method = cell.route.startsWith('asset ') ? 'GET' : cell.route.split(' ')[0];
    try {
      const body = method === 'POST' ? bodyFor(cell.route) : undefined;
      const answer = await ctx.http.request(method, cell.target, { ...cell.req, body, timeoutMs: 15_000 });
      cell.got = answer.status;
      if (!cell.expected.includes(answer.status)) cell.error = apiErrorText(answer).slice(0, 200);
    } catch (err) {
      cell.error = err instanceof Error ? err.message : String(err);
    }
    cell.pass = cell.got !== undefined && cell.expected.includes(cell.got);
  }

  const startRefusal = await serverWithoutTokens(ctx);
  cells.push(startRefusal);
  const passed = cells.filter((c) => c.pass).length;
  const clean = cells.map(({ route, credential, expected, got, error, pass }) => ({
    route,
    credential,
    expected,
    got,
    error,
    pass,
  }));
  return {
    part: 'R5',
    title: `access: ${fastifyRoutes.length} routes (fastify) × 5 credentials, ${assetPaths.length} files of ${finishedStoryId ?? 'no story'}, open-mode start`,
    seconds: (Date.now() - started) / 1000,
    figures: [
      percentOf('R5', 'refused with the right status', passed, cells.length),
      figure(
        'R5',
        '(condition) routes outside the matrix',
        String(escaped.length + undocumentedInFastify.length),
        '0',
        escaped.length + undocumentedInFastify.length === 0
      ),
    ],
    details: {
      routes: fastifyRoutes,
      documented,
      escaped,
      undocumentedInFastify,
      failed: clean.filter((c) => !c.pass),
      cells: clean.length,
    },
  };
}

/** A body that would pass validation, so a refusal cannot be a validation error in disguise. */
function bodyFor(route: string): unknown {
  if (route.includes('/keyframes/review')) return { approve: true };
  if (route.includes('/shots/')) return { decision: 'approve' };
  if (route.includes('/budget')) return { budgetCredits: 1000 };
  if (route.includes('/review-link')) return {};
  if (route.includes('/cancel')) return undefined;
  return smallStory({ title: 'chaos r5 refused', shots: 1 });
}

/** A review link's `exp` and `sig` as docs/api.md defines them: hex HMAC-SHA256 of `review:<id>:<exp>`. */
function reviewLink(secret: string, storyId: string, exp: number): { exp: string; sig: string } {
  return { exp: String(exp), sig: createHmac('sha256', secret).update(`review:${storyId}:${exp}`).digest('hex') };
}

/**
 * A signed asset URL's `exp` and `sig` for the file `rel` under /assets/: hex HMAC-SHA256 of `asset:<rel>:<exp>`
 * with the same secret (the scheme of the asset-access change; a different one still has to refuse it, 403).
 */
function assetSignature(secret: string, rel: string, exp: number): { exp: string; sig: string } {
  return { exp: String(exp), sig: createHmac('sha256', secret).update(`asset:${rel}:${exp}`).digest('hex') };
}

function flipLastHex(sig: string): string {
  const last = sig.at(-1) ?? '0';
  return sig.slice(0, -1) + (last === '0' ? '1' : '0');
}

/** The URLs of every file of a finished story, as the API hands them to a backend. */
async function assetUrlsOf(ctx: ChaosContext, storyId: string): Promise<string[]> {
  const answer = await ctx.http.request('GET', `/v1/stories/${storyId}/result?wait=false`, {
    token: ctx.tokens.backend,
  });
  const urls = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string' && v.includes('/assets/')) urls.add(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(answer.json);
  return [...urls].map((u) => (u.startsWith('http') ? u : `${ctx.stack.apiUrl}${u}`));
}

/** `npm run server` with no tokens (and no flag saying open is meant) must refuse to start. */
async function serverWithoutTokens(ctx: ChaosContext): Promise<Cell> {
  // "Expected" is an exit code other than 0: the process must end by itself, refusing.
  const cell: Cell = {
    route: 'server start without REELFLOW_API_TOKENS',
    credential: '(none configured)',
    expected: [1],
  };
  const port = await freePort();
  const spec = ctx.stack.nodeCommand('server/main.ts', [], {
    REELFLOW_API_TOKENS: '',
    REELFLOW_HTTP_PORT: String(port),
  });
  const proc = await ctx.stack.group.start({ name: 'server-without-tokens', ...spec, endsByItself: true });
  const deadline = Date.now() + 30_000;
  let served = false;
  while (proc.running() && Date.now() < deadline) {
    served = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (served) break;
    await pause(300);
  }
  if (proc.running()) {
    await ctx.stack.group.kill(proc.name);
    cell.got = 0;
    cell.error = served ? 'it started and served /healthz' : 'it neither exited nor served within 30 s';
    cell.pass = false;
  } else {
    const exit = await proc.exited;
    cell.got = exit.code ?? -1;
    cell.pass = exit.code !== 0 && exit.code !== null;
    if (!cell.pass) cell.error = `exited with code ${exit.code}`;
  }
  return cell;
}
