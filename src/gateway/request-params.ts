import { z } from 'zod';
import { GatewayHttpError } from './errors.js';

/**
 * Building blocks of the request schemas of both APIs. Every node decodes greedily (sampled re-execution must be
 * able to reproduce the answer), so parameters that only add randomness are accepted and ignored, while those
 * that would change the answer's shape or content in a way no node can honour are refused with a 400 naming them.
 */

const unsupported = (what: string) => ({ message: `${what} is not supported by this gateway` });

/** Absent, null, or an empty array/object. */
const emptyOrAbsent = (value: unknown): boolean =>
  value === undefined ||
  value === null ||
  (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);

/** Accepted only when absent or empty (e.g. `tools: []`); anything else is refused. */
export const refusedUnlessEmpty = (what: string) => z.unknown().optional().refine(emptyOrAbsent, unsupported(what));

/** Accepted only when absent or null. */
export const refusedUnlessNull = (what: string) => z.unknown().optional().refine((v) => v === undefined || v === null, unsupported(what));

/** Sampling knobs: validated like OpenAI does, then ignored (decoding is greedy). */
export const ignoredTemperature = z.number().min(0).max(2).nullish();
export const ignoredTopP = z.number().min(0).max(1).nullish();
export const ignoredSeed = z.number().int().nullish();

/** Penalties change which tokens are chosen; greedy nodes cannot apply them: only 0 is accepted. */
export const zeroOnly = (what: string) =>
  z
    .number()
    .min(-2)
    .max(2)
    .nullish()
    .refine((v) => !v, unsupported(`${what} other than 0`));

/** A tool choice that cannot call a tool (there are none). */
export const toolChoiceWithoutTools = z
  .unknown()
  .optional()
  .refine((v) => v === undefined || v === null || v === 'none' || v === 'auto', unsupported('tool_choice other than "none" or "auto"'));

/** `max_tokens`-like fields: a positive integer; the upper bound is the largest any node serving the model accepts. */
export const maxTokensField = z.number().int().positive().nullish();

/** `messages.0.role` → `messages[0].role`, as OpenAI names params. */
function paramName(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)), '');
}

/** Validates a request body; a GatewayHttpError 400 names the first offending field as `param`. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? undefined);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const first = issues[0];
  const param = first && first.path.length > 0 ? paramName(first.path) : null;
  const message = issues.map((issue) => `${issue.path.length ? paramName(issue.path) : 'body'}: ${issue.message}`).join('; ');
  throw new GatewayHttpError(400, `Invalid request: ${message}`, { type: 'invalid_request_error', code: 'invalid_request', param });
}

/** A refusal of one field's content after parsing (e.g. a message longer than the protocol allows). */
export function invalidParam(param: string, message: string): GatewayHttpError {
  return new GatewayHttpError(400, `Invalid request: ${message}`, { type: 'invalid_request_error', code: 'invalid_request', param });
}
