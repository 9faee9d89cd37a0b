import type { z } from 'zod';

/** One problem found in an input: where (a dotted path such as `shots[1].duration`) and why. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Raised for input that does not match a schema; the message names every bad field. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly what: string,
    readonly issues: FieldIssue[]
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

/** Formats a zod path as `shots[1].duration`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc ? `${acc}.${String(key)}` : String(key);
  }, '');
}

/** The field issues of a zod error, each path under `prefix` (e.g. `story` gives `story.shots[0].duration`). */
export function issuesOf(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: joinField(prefix, fieldPath(issue.path)) || '(root)',
    message: issue.message,
  }));
}

/** Parses `value` with `schema`, or throws a ValidationError naming each bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string, prefix = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(what, issuesOf(result.error, prefix));
}

/** `prefix` + `field` as one path: `story` + `shots[0]` = `story.shots[0]`, `keyframes` + `[1]` = `keyframes[1]`. */
export function joinField(prefix: string, field: string): string {
  if (!prefix) return field;
  if (!field) return prefix;
  return field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`;
}
