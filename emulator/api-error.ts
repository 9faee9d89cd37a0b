/** An error the API answers with `status` and a JSON body `{ detail }` (Luma's and fal's shape), or `body`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly detail: string,
    /** Extra response headers, such as retry-after on 429. */
    readonly headers: Record<string, string> = {},
    /** A whole body instead of `{ detail }` (fal's field errors, its `error_type`). */
    readonly body?: unknown
  ) {
    super(detail);
  }
}

/** A 400 whose detail starts with the offending field, so a client can tell which one was wrong. */
export function badField(field: string, message: string): ApiError {
  return new ApiError(400, `${field}: ${message}`);
}
