import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** Environment values with empty strings dropped: an empty variable counts as unset. */
export function nonEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') kept[key] = value;
  return kept;
}

/**
 * Validates configuration from environment variables (empty ones count as unset); a bad value is a ConfigError
 * naming each variable: "invalid <what> configuration", details "VARIABLE message; …". Values are never echoed.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>, what: string): z.infer<S> {
  const parsed = schema.safeParse(nonEmpty(env));
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ');
    throw new ConfigError(`invalid ${what} configuration`, { details });
  }
  return parsed.data;
}
