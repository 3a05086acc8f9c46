import { z } from 'zod';
import { parseEnv } from '../config/parse-env.js';

export interface GatewaySettings {
  host: string;
  port: number;
  defaultMaxTokens: number;
}

const envSchema = z.object({
  PARALLELIX_GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  PARALLELIX_GATEWAY_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  PARALLELIX_GATEWAY_MAX_TOKENS: z.coerce.number().int().positive().default(256),
});

/** Where the gateway listens and its default `max_tokens`: flags, else PARALLELIX_GATEWAY_* variables, else defaults. */
export function loadGatewaySettings(flags: { host?: string; port?: string } = {}, env: NodeJS.ProcessEnv = process.env): GatewaySettings {
  const withFlags = {
    ...env,
    PARALLELIX_GATEWAY_HOST: flags.host || env.PARALLELIX_GATEWAY_HOST,
    PARALLELIX_GATEWAY_PORT: flags.port || env.PARALLELIX_GATEWAY_PORT,
  };
  const e = parseEnv(envSchema, withFlags, 'gateway');
  return { host: e.PARALLELIX_GATEWAY_HOST, port: e.PARALLELIX_GATEWAY_PORT, defaultMaxTokens: e.PARALLELIX_GATEWAY_MAX_TOKENS };
}
