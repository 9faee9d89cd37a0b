import { createHmac, timingSafeEqual } from 'node:crypto';

/** Outcome of checking a signature with an expiry. */
export type SignatureCheck = 'valid' | 'expired' | 'bad-signature';

/**
 * HMAC-SHA256 signatures of a subject (an asset path, a story id) with an expiry in unix seconds, for one purpose.
 * The purpose prefixes every signed message (`asset:<path>:<exp>`, `review:<id>:<exp>`), so a signature made for one
 * purpose is never valid for another, even under the same secret.
 */
export class ExpiringSigner {
  private readonly key: Buffer;

  constructor(
    secret: string | Buffer,
    private readonly purpose: string,
    private readonly now: () => number = Date.now
  ) {
    this.key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  }

  /** The hex signature of `subject` valid until `exp` (unix seconds). */
  sign(subject: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${this.purpose}:${subject}:${exp}`).digest('hex');
  }

  /** Checks a signature in constant time, then its expiry; anything malformed is a bad signature. */
  check(subject: string, exp: string, sig: string): SignatureCheck {
    if (!/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/i.test(sig)) return 'bad-signature';
    const expected = Buffer.from(this.sign(subject, Number(exp)), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return 'bad-signature';
    return Number(exp) * 1000 > this.now() ? 'valid' : 'expired';
  }

  /** Unix seconds now, on this signer's clock. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

/**
 * The expiry of a URL that must stay valid for at least `ttlSeconds`: rounded up to a step of a sixth of the
 * lifetime (at most 10 minutes), so the same file gets the same URL for a while (browsers cache it, and the review
 * page, which polls every second, does not reload its pictures each time). Valid for `ttl` to `ttl + step`.
 */
export function expiryFor(nowSeconds: number, ttlSeconds: number): number {
  const ttl = Math.max(1, Math.round(ttlSeconds));
  return Math.ceil((nowSeconds + ttl) / stepOf(ttl)) * stepOf(ttl);
}

function stepOf(ttl: number): number {
  return Math.max(1, Math.min(600, Math.floor(ttl / 6)));
}

/**
 * The window {@link expiryFor} puts a URL in: from the start of the current step to its expiry. A presigned URL dated
 * at the step's start is the same URL for the whole step, as an HMAC-signed one is.
 */
export function expiryWindow(nowSeconds: number, ttlSeconds: number): { issuedAt: number; expiresAt: number } {
  const step = stepOf(Math.max(1, Math.round(ttlSeconds)));
  return { issuedAt: Math.floor(nowSeconds / step) * step, expiresAt: expiryFor(nowSeconds, ttlSeconds) };
}
