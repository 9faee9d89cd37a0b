/** One HTTP answer as the suite reads it. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
}

/** What a request carries besides its method and path. */
export interface HttpRequest {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (with `contentType`), for bodies that are not JSON or too big to build as an object. */
  rawBody?: string;
  contentType?: string;
  timeoutMs?: number;
}

/** A small client of reelflow's HTTP server (the API door), bounded in time per request. */
export class HttpDoor {
  constructor(readonly baseUrl: string) {}

  /** Sends one request; network errors and timeouts reject. */
  async request(method: string, pathAndQuery: string, req: HttpRequest = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...req.headers };
    if (req.token) headers.authorization = `Bearer ${req.token}`;
    let body: string | undefined;
    if (req.rawBody !== undefined) {
      body = req.rawBody;
      headers['content-type'] ??= req.contentType ?? 'application/json';
    } else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const url = /^https?:/.test(pathAndQuery) ? pathAndQuery : `${this.baseUrl}${pathAndQuery}`;
    const response = await fetch(url, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(req.timeoutMs ?? 20_000),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }
}

/** The `error.message` and every `error.fields[].field` of an API error answer, as one searchable text. */
export function apiErrorText(answer: HttpAnswer): string {
  const error = (answer.json as { error?: { message?: string; fields?: Array<{ field: string; message: string }> } })
    ?.error;
  if (!error) return answer.text.slice(0, 500);
  const fields = (error.fields ?? []).map((f) => `${f.field}: ${f.message}`).join('; ');
  return `${error.message ?? ''}${fields ? ` [${fields}]` : ''}`;
}
