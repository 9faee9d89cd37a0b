import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ExpiringSigner, type SignatureCheck } from '../../assets';
import type { ReelflowConfig } from '../../config';
import { ApiError } from './errors';

/** A role an API token carries. */
export type Role = ReelflowConfig['api']['tokens'][number]['role'];

/** Something a caller may do through the API. */
export type Permission = 'start' | 'estimate' | 'list' | 'read' | 'review' | 'budget' | 'cancel' | 'mint-review-link';

/** What each role may do; anything not listed is refused with 403. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  backend: ['start', 'estimate', 'list', 'read', 'budget', 'cancel', 'mint-review-link'],
  reviewer: ['list', 'read', 'review'],
};

/** A signed review link grants a reviewer's rights on one story, and nothing that spans stories (no list). */
const REVIEW_LINK_PERMISSIONS: readonly Permission[] = ['read', 'review'];

/** Header in which the review page sends its link's `<exp>.<sig>`. */
export const REVIEW_LINK_HEADER = 'x-review-link';

/** Default lifetime of a signed review link. */
export const DEFAULT_REVIEW_LINK_TTL_SECONDS = 7 * 24 * 3600;
/** Longest lifetime a signed review link may be given. */
export const MAX_REVIEW_LINK_TTL_SECONDS = 30 * 24 * 3600;

/** Who is calling, as established from the request's credentials. */
export type Principal =
  { kind: 'token'; role: Role } | { kind: 'review-link'; storyId: string; expiresAt: number } | { kind: 'open' };

/** A signed review link. */
export interface ReviewLink {
  url: string;
  /** ISO time after which the link is refused. */
  expiresAt: string;
}

/** Outcome of checking a review link's signature and expiry. */
export type ReviewLinkCheck = SignatureCheck;

/** What {@link ApiAuth} needs: the tokens, and the key of review links (random for this process when unset). */
export interface AuthSettings {
  tokens: ReelflowConfig['api']['tokens'];
  signingSecret?: string | Buffer;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** Bearer tokens with roles, and HMAC-signed review links that stand in for a reviewer token on one story. */
export class ApiAuth {
  /** True when no tokens are configured: the API then answers loopback callers only, with every right. */
  readonly open: boolean;
  /** True when no signing secret was given: links die with the process and do not work across replicas. */
  readonly ephemeralSecret: boolean;
  private readonly signer: ExpiringSigner;
  // Tokens are compared as SHA-256 digests: equal lengths for timingSafeEqual, and no early exit on a prefix.
  private readonly tokens: Array<{ digest: Buffer; role: Role }>;

  constructor(
    settings: AuthSettings,
    private readonly now: () => number = Date.now
  ) {
    this.tokens = settings.tokens.map((t) => ({ digest: sha256(t.token), role: t.role }));
    this.open = this.tokens.length === 0;
    this.ephemeralSecret = !settings.signingSecret;
    // The 'review' purpose keeps these signatures apart from the asset URLs the same secret signs ('asset').
    this.signer = new ExpiringSigner(settings.signingSecret ?? randomBytes(32), 'review', now);
  }

  /** The hex HMAC-SHA256 of a review link for `storyId` that expires at `exp` (unix seconds). */
  sign(storyId: string, exp: number): string {
    return this.signer.sign(storyId, exp);
  }

  /** Mints a review link for one story under `baseUrl`. */
  reviewLink(storyId: string, baseUrl: string, ttlSeconds = DEFAULT_REVIEW_LINK_TTL_SECONDS): ReviewLink {
    const exp = Math.floor(this.now() / 1000) + Math.min(Math.max(1, ttlSeconds), MAX_REVIEW_LINK_TTL_SECONDS);
    const query = new URLSearchParams({ exp: String(exp), sig: this.sign(storyId, exp) });
    return {
      url: `${baseUrl}/review/${encodeURIComponent(storyId)}?${query.toString()}`,
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  }

  /** Checks a review link's signature (in constant time) and its expiry. */
  checkReviewLink(storyId: string, exp: string, sig: string): ReviewLinkCheck {
    return this.signer.check(storyId, exp, sig);
  }

  /**
   * Establishes who is calling. A bearer token wins over a review link; without either, an open API (no tokens
   * configured) admits loopback callers only. Throws 401 for missing or unknown credentials, 403 for a bad link.
   */
  authenticate(request: FastifyRequest, storyId?: string): Principal {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) throw unauthorized('use the header Authorization: Bearer <token>');
      const digest = sha256(match[1]);
      let role: Role | undefined;
      // No early exit: every configured token is compared, so timing says nothing about which one matched.
      for (const t of this.tokens) if (timingSafeEqual(t.digest, digest)) role ??= t.role;
      if (!role) throw unauthorized('unknown API token');
      return { kind: 'token', role };
    }
    const link = reviewLinkCredentials(request);
    if (link) {
      if (!storyId) throw forbidden('a review link is valid only for its own story');
      const check = this.checkReviewLink(storyId, link.exp, link.sig);
      if (check === 'expired') throw forbidden('this review link has expired; ask for a new one');
      if (check !== 'valid') throw forbidden('this review link is not valid for this story');
      return { kind: 'review-link', storyId, expiresAt: Number(link.exp) };
    }
    if (this.open) {
      if (isLoopback(request)) return { kind: 'open' };
      throw unauthorized('no API tokens are configured (REELFLOW_API_TOKENS), so only loopback callers are admitted');
    }
    throw unauthorized('missing credentials: send Authorization: Bearer <token>');
  }

  /** Authenticates the caller and checks it may do `permission` (on `storyId`, for story routes); throws 401/403. */
  authorize(request: FastifyRequest, permission: Permission, storyId?: string): Principal {
    const principal = this.authenticate(request, storyId);
    if (!allows(principal, permission, storyId)) {
      const who = principal.kind === 'token' ? `the '${principal.role}' role` : 'a review link';
      throw forbidden(`${who} may not ${permission.replace(/-/g, ' ')}`);
    }
    return principal;
  }
}

/** Whether `principal` may do `permission` on `storyId`. */
export function allows(principal: Principal, permission: Permission, storyId?: string): boolean {
  switch (principal.kind) {
    case 'open':
      return true;
    case 'token':
      return ROLE_PERMISSIONS[principal.role].includes(permission);
    case 'review-link':
      return storyId === principal.storyId && REVIEW_LINK_PERMISSIONS.includes(permission);
  }
}

/** The `<exp>.<sig>` of a review link, from the review page's header or from `?exp=&sig=` (handy with curl). */
function reviewLinkCredentials(request: FastifyRequest): { exp: string; sig: string } | undefined {
  const header = request.headers[REVIEW_LINK_HEADER];
  if (typeof header === 'string' && header) {
    const [exp = '', sig = ''] = header.trim().split('.');
    return { exp, sig };
  }
  const query = (request.query ?? {}) as Record<string, unknown>;
  if (typeof query.sig === 'string' || typeof query.exp === 'string') {
    return { exp: String(query.exp ?? ''), sig: String(query.sig ?? '') };
  }
  return undefined;
}

/** Whether the TCP peer is this machine (proxy headers are deliberately not trusted for this). */
export function isLoopback(request: FastifyRequest): boolean {
  return LOOPBACK.test(request.socket.remoteAddress ?? '');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function unauthorized(message: string): ApiError {
  return new ApiError('unauthorized', message, undefined, { 'www-authenticate': 'Bearer realm="reelflow"' });
}

function forbidden(message: string): ApiError {
  return new ApiError('forbidden', message);
}
