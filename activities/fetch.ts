import { createHash, randomUUID } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { createWriteStream, promises as fs } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import net, { BlockList } from 'node:net';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import ipaddr from 'ipaddr.js';
import { FailureType, nonRetryable } from '../common/failures';

/** Rules for one download; every redirect hop is checked against them again. */
export interface DownloadOptions {
  /** Hosts that may be contacted, as `host` (any port), `host:port` or `*.domain`; undefined allows any host. */
  allowedHosts?: string[];
  /** Allow loopback, private, link-local and other non-public addresses (default false). */
  allowPrivate?: boolean;
  /**
   * Hosts (same forms as `allowedHosts`) that may be on non-public addresses although `allowPrivate` is false, e.g.
   * the provider emulator on loopback; a redirect from one of them to any other private address is still refused.
   */
  privateHosts?: string[];
  /** Largest body accepted, default {@link DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
  /** Time for the whole download, redirects and body included, default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Accepted Content-Type values; a response without one is refused when this is set. */
  accept?: RegExp;
  /** Aborting stops the download and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Result of {@link downloadToFile}. */
export interface DownloadResult {
  /** Bytes written. */
  bytes: number;
  /** Content-Type of the final response, if it had one. */
  contentType?: string;
  /** URL the body came from, after redirects, without its query string. */
  finalUrl: string;
}

/** Options of {@link resolveInputFile}. */
export interface ResolveInputOptions extends DownloadOptions {
  /** Directory a URL is downloaded into. */
  downloadDir: string;
  /** Directory relative paths are resolved against, default the process's working directory. */
  baseDir?: string;
  /** Name of the downloaded file, default a hash of the URL plus its extension (so a retry reuses the name). */
  fileName?: string;
}

/** Default body size cap: 512 MiB, well above a 9 s 4K clip. */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
/** Default time for a whole download. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** Redirects followed before giving up. */
export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// 408 and 429 are the server asking to be tried later, not a verdict on the URL.
const RETRYABLE_4XX = new Set([408, 429]);

// Addresses that are not the public internet: a URL from a story or a provider must not reach the worker's own network.
const NON_PUBLIC_V4 = new BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC_V4.addSubnet(net4, prefix, 'ipv4');
}

/**
 * IPv6 forms that carry an IPv4 address at a fixed place; such an address is judged by the IPv4 address it embeds,
 * since that is where a translator or tunnel delivers the packets (`[64:ff9b::a9fe:a9fe]` is 169.254.169.254).
 */
const EMBEDDED_IPV4 = [
  { form: 'IPv4-mapped', prefix: '::ffff:0:0', bits: 96, offset: 12 },
  { form: 'IPv4-translated', prefix: '::ffff:0:0:0', bits: 96, offset: 12 },
  { form: 'IPv4-compatible', prefix: '::', bits: 96, offset: 12 },
  { form: 'NAT64', prefix: '64:ff9b::', bits: 96, offset: 12 },
  { form: '6to4', prefix: '2002::', bits: 16, offset: 2 },
].map((f) => ({ ...f, net: ipaddr.IPv6.parse(f.prefix) }));

// Refused outright: local-use NAT64 (RFC 8215; where the IPv4 address sits depends on the site's prefix), the IETF
// protocol block with Teredo (2001::/32 hides its client address), and every range that is not global unicast.
const NON_PUBLIC_V6 = new BlockList();
for (const [net6, prefix] of [
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC_V6.addSubnet(net6, prefix, 'ipv6');
}

/**
 * Whether an IP address is on the public internet. IPv4 is judged by the non-public ranges above; an IPv6 address
 * that embeds an IPv4 address (IPv4-mapped, -translated or -compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) by
 * the address it embeds; local-use NAT64, `2001::/23` (Teredo among it) and non-global IPv6 ranges are never public.
 */
export function isPublicAddress(address: string): boolean {
  if (net.isIPv4(address)) return !NON_PUBLIC_V4.check(address, 'ipv4');
  // A zone index (fe80::1%eth0) only ever qualifies a link-local address, which is refused below anyway.
  const bare = address.split('%')[0];
  if (!net.isIPv6(bare)) return false;
  const embedded = embeddedIPv4(bare);
  if (embedded) return isPublicAddress(embedded);
  return !NON_PUBLIC_V6.check(bare, 'ipv6');
}

/** The IPv4 address an IPv6 address embeds (see {@link EMBEDDED_IPV4}), if it has one of those forms. */
export function embeddedIPv4(address: string): string | undefined {
  const parsed = ipaddr.IPv6.parse(address);
  const form = EMBEDDED_IPV4.find((f) => parsed.match(f.net, f.bits));
  if (!form) return undefined;
  return parsed
    .toByteArray()
    .slice(form.offset, form.offset + 4)
    .join('.');
}

/**
 * Downloads an http(s) URL to `destPath` under the given rules: redirects followed by hand and re-checked, size and
 * time capped, written to a temporary sibling and renamed. Refusals and 4xx are non-retryable BadInput; 5xx,
 * timeouts and connection errors are plain (retryable) errors.
 */
export async function downloadToFile(
  url: string,
  destPath: string,
  opts: DownloadOptions = {}
): Promise<DownloadResult> {
  opts.signal?.throwIfAborted();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  let current = parseHttpUrl(url);
  try {
    for (let redirects = 0; ; redirects++) {
      checkUrl(current, opts);
      const res = await get(current, signal, privateAllowed(current, opts));
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        res.resume();
        current = nextHop(current, res.headers.location, status, redirects);
        continue;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        const message = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
        if (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) {
          throw nonRetryable(FailureType.BadInput, `${redact(current)}: ${message}`);
        }
        throw new Error(message);
      }
      const contentType = res.headers['content-type'];
      checkBody(current, res, opts.accept, maxBytes);
      const bytes = await saveBody(res, destPath, maxBytes, redact(current));
      return { bytes, contentType, finalUrl: redact(current) };
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (deadline.aborted) throw new Error(`${redact(current)}: download did not finish within ${timeoutMs} ms`);
    if (err instanceof ForbiddenAddressError) throw nonRetryable(FailureType.BadInput, err.message);
    if (err instanceof ApplicationFailure) throw err;
    // Everything else (5xx, resets, refused connections) is transient: a plain Error that names the URL.
    throw new Error(`${redact(current)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Turns an input reference into a local file: an http(s) URL is downloaded into `downloadDir`; a path (absolute, or
 * relative to `baseDir`) must name an existing regular file. Returns the absolute path; any other scheme is a BadInput.
 */
export async function resolveInputFile(ref: string, opts: ResolveInputOptions): Promise<string> {
  const { downloadDir, baseDir, fileName, ...download } = opts;
  const trimmed = ref.trim();
  if (!trimmed) throw nonRetryable(FailureType.BadInput, 'empty input reference');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1].toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    const dest = path.resolve(downloadDir, fileName ?? downloadName(trimmed));
    await downloadToFile(trimmed, dest, download);
    return dest;
  }
  if (scheme) {
    throw nonRetryable(
      FailureType.BadInput,
      `${shorten(trimmed)}: ${scheme}: references are not accepted; give an http(s) URL or a local file path`
    );
  }
  const abs = path.resolve(baseDir ?? process.cwd(), trimmed);
  const stat = await fs.stat(abs).catch(() => undefined);
  if (!stat) throw nonRetryable(FailureType.BadInput, `${shorten(trimmed)}: no such file (${abs})`);
  if (!stat.isFile()) throw nonRetryable(FailureType.BadInput, `${shorten(trimmed)}: not a regular file (${abs})`);
  return abs;
}

/** A resolved address the rules forbid; raised inside DNS lookup so the check and the connection use the same answer. */
class ForbiddenAddressError extends Error {}

function parseHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw nonRetryable(FailureType.BadInput, `${shorten(raw)}: not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw nonRetryable(FailureType.BadInput, `${shorten(raw)}: only http and https URLs can be downloaded`);
  }
  return url;
}

function checkUrl(url: URL, opts: DownloadOptions): void {
  if (url.username || url.password) {
    throw nonRetryable(FailureType.BadInput, `${redact(url)}: URLs with credentials are not accepted`);
  }
  if (!hostAllowed(url, opts.allowedHosts)) {
    throw nonRetryable(FailureType.BadInput, `${redact(url)}: host ${url.host} is not allowed`);
  }
  // Literal IPs skip DNS, so the lookup guard never sees them: check them here.
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!privateAllowed(url, opts) && net.isIP(literal) && !isPublicAddress(literal)) {
    throw nonRetryable(FailureType.BadInput, `${redact(url)}: ${literal} is a private or local address`);
  }
}

function nextHop(from: URL, location: string | undefined, status: number, redirects: number): URL {
  if (!location) throw nonRetryable(FailureType.BadInput, `${redact(from)}: redirect ${status} without a Location`);
  if (redirects >= MAX_REDIRECTS) {
    throw nonRetryable(FailureType.BadInput, `${redact(from)}: more than ${MAX_REDIRECTS} redirects`);
  }
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw nonRetryable(FailureType.BadInput, `${redact(from)}: redirect to an invalid URL`);
  }
  const url = parseHttpUrl(next.href);
  if (from.protocol === 'https:' && url.protocol === 'http:') {
    throw nonRetryable(FailureType.BadInput, `${redact(from)}: redirect from https to plain http refused`);
  }
  return url;
}

/** Whether this hop may reach a non-public address: everywhere with `allowPrivate`, else only its `privateHosts`. */
function privateAllowed(url: URL, opts: DownloadOptions): boolean {
  return opts.allowPrivate === true || (!!opts.privateHosts?.length && hostAllowed(url, opts.privateHosts));
}

function hostAllowed(url: URL, allowedHosts: string[] | undefined): boolean {
  if (!allowedHosts) return true;
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowedHosts.some((entry) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry.trim().toLowerCase());
    if (!m) return false;
    const [, pattern, entryPort] = m;
    const name = pattern.replace(/\.$/, '');
    const hostMatches = name.startsWith('*.') ? host.endsWith(name.slice(1)) : host === name;
    return hostMatches && (entryPort === undefined || entryPort === port);
  });
}

/** A DNS lookup that refuses the connection when any answer is non-public, closing the DNS-rebinding gap. */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      const bad = err || allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      const failure =
        err ?? (bad && new ForbiddenAddressError(`${hostname} resolves to ${bad.address}, a private or local address`));
      if (failure) return callback(failure, options.all ? [] : '');
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function get(url: URL, signal: AbortSignal, allowPrivate: boolean): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'GET',
      // Compressed bodies would be saved compressed; asking for identity keeps the bytes the file's own.
      headers: { 'accept-encoding': 'identity', 'user-agent': 'reelflow-fetch/1' },
      lookup: guardedLookup(allowPrivate),
      // A fresh connection per hop: a pooled socket would skip the address check.
      agent: false,
      signal,
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

function checkBody(url: URL, res: IncomingMessage, accept: RegExp | undefined, maxBytes: number): void {
  const contentType = res.headers['content-type'];
  if (accept && (!contentType || contentType.search(accept) === -1)) {
    res.resume();
    throw nonRetryable(FailureType.BadInput, `${redact(url)}: content type ${contentType ?? '(none)'} is not accepted`);
  }
  const encoding = res.headers['content-encoding'];
  if (encoding && encoding !== 'identity') {
    res.resume();
    throw new Error(`server sent a ${encoding}-encoded body although identity was asked for`);
  }
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw nonRetryable(
      FailureType.BadInput,
      `${redact(url)}: ${declared} bytes is more than the ${maxBytes} byte limit`
    );
  }
}

async function saveBody(res: IncomingMessage, destPath: string, maxBytes: number, label: string): Promise<number> {
  const abs = path.resolve(destPath);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  const tmp = path.join(path.dirname(abs), `.reelflow-${randomUUID()}.part`);
  const declared = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
  let bytes = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        callback(nonRetryable(FailureType.BadInput, `${label}: body is more than the ${maxBytes} byte limit`));
      } else {
        callback(null, chunk);
      }
    },
  });
  try {
    await pipeline(res, cap, createWriteStream(tmp, { flags: 'wx' }));
    if (declared !== undefined && bytes !== declared) {
      throw new Error(`body ended after ${bytes} of ${declared} bytes`);
    }
    await fs.rename(tmp, abs);
    return bytes;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** The URL without query or fragment: signed URLs carry tokens that must not land in logs or workflow history. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function downloadName(url: string): string {
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
  const ext = path.posix.extname(new URL(url).pathname);
  return /^\.[a-z0-9]{1,8}$/i.test(ext) ? `${hash}${ext.toLowerCase()}` : hash;
}
