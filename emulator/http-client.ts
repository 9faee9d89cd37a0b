import http from 'node:http';
import https from 'node:https';

/** Limits of one outgoing request. */
export interface FetchLimits {
  timeoutMs: number;
  signal?: AbortSignal;
}

function checkedUrl(text: string): URL {
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`only http(s) URLs, got ${url.protocol}`);
  return url;
}

function combinedSignal(limits: FetchLimits): AbortSignal {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  return limits.signal ? AbortSignal.any([limits.signal, timeout]) : timeout;
}

function request(url: URL, options: http.RequestOptions, signal: AbortSignal): http.ClientRequest {
  // agent: false gives each request its own connection, so no pooled socket outlives the emulator.
  const opts = { ...options, agent: false, signal };
  return url.protocol === 'https:' ? https.request(url, opts) : http.request(url, opts);
}

/**
 * Downloads a URL into memory: http(s) only (re-checked on every redirect), at most `maxBytes`, within `timeoutMs`
 * for the whole exchange. Throws on anything else, including a non-2xx answer.
 */
export async function downloadLimited(
  text: string,
  limits: FetchLimits & { maxBytes: number; maxRedirects?: number }
): Promise<Buffer> {
  const signal = combinedSignal(limits);
  let url = checkedUrl(text);
  for (let redirects = 0; ; redirects++) {
    const { status, location, body } = await new Promise<{ status: number; location?: string; body?: Buffer }>(
      (resolve, reject) => {
        const req = request(url, { method: 'GET' }, signal);
        req.on('error', reject);
        req.on('response', (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400 && res.headers.location) {
            res.resume();
            resolve({ status, location: res.headers.location });
            return;
          }
          if (status < 200 || status >= 300) {
            res.resume();
            reject(new Error(`GET ${url.href} answered ${status}`));
            return;
          }
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > limits.maxBytes) {
            res.destroy();
            reject(new Error(`GET ${url.href}: ${declared} bytes is over the ${limits.maxBytes} byte limit`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > limits.maxBytes) {
              res.destroy(new Error(`GET ${url.href}: over the ${limits.maxBytes} byte limit`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
        });
        req.end();
      }
    );
    if (body) return body;
    if (redirects >= (limits.maxRedirects ?? 3)) throw new Error(`GET ${text}: too many redirects (last ${status})`);
    url = checkedUrl(new URL(location ?? '', url).href);
  }
}

/** POSTs a JSON body and resolves with the status code; throws on a network error or timeout. */
export async function postJson(text: string, body: unknown, limits: FetchLimits): Promise<number> {
  const url = checkedUrl(text);
  const payload = Buffer.from(JSON.stringify(body));
  const signal = combinedSignal(limits);
  return new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          'user-agent': 'luma-emulator',
        },
      },
      signal
    );
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.end(payload);
  });
}
