import { z } from 'zod';
import { parseEnv } from '../shared/parse-env.js';

export interface GatewaySettings {
  host: string;
  port: number;
  defaultMaxTokens: number;
  /** Origins browser apps may call from (`*` for any); undefined: CORS off. */
  corsOrigins: '*' | string[] | undefined;
  /** Inference requests per minute per API key (0: unlimited). */
  requestsPerMinute: number;
}

const origin = z.string().refine((value) => {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}, 'must list origins such as https://app.example.com (scheme, host and port only), comma-separated, or be *');

const envSchema = z.object({
  PARALLELIX_GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  PARALLELIX_GATEWAY_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  PARALLELIX_GATEWAY_MAX_TOKENS: z.coerce.number().int().positive().default(256),
  PARALLELIX_GATEWAY_CORS_ORIGINS: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '*' ? value?.trim() : value.split(',').map((o) => o.trim()).filter(Boolean)))
    .pipe(z.union([z.literal('*'), z.array(origin), z.undefined()])),
  PARALLELIX_GATEWAY_RATE_LIMIT_RPM: z.coerce.number().int().min(0).default(600),
});

/**
 * Where the gateway listens and how it answers: flags, else PARALLELIX_GATEWAY_* variables, else defaults
 * (127.0.0.1:8080, max_tokens 256, no CORS, 600 requests per minute per key).
 */
export function loadGatewaySettings(flags: { host?: string; port?: string } = {}, env: NodeJS.ProcessEnv = process.env): GatewaySettings {
  const withFlags = {
    ...env,
    PARALLELIX_GATEWAY_HOST: flags.host || env.PARALLELIX_GATEWAY_HOST,
    PARALLELIX_GATEWAY_PORT: flags.port || env.PARALLELIX_GATEWAY_PORT,
  };
  const e = parseEnv(envSchema, withFlags, 'gateway');
  return {
    host: e.PARALLELIX_GATEWAY_HOST,
    port: e.PARALLELIX_GATEWAY_PORT,
    defaultMaxTokens: e.PARALLELIX_GATEWAY_MAX_TOKENS,
    corsOrigins: e.PARALLELIX_GATEWAY_CORS_ORIGINS,
    requestsPerMinute: e.PARALLELIX_GATEWAY_RATE_LIMIT_RPM,
  };
}
