import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseEnv } from '../shared/parse-env.js';
import { resolveTemporal } from '../config/connections.js';
import { ConfigError } from '../shared/errors.js';
import { OPERATOR_ENDPOINT_PORT } from '../protocol/operator-endpoint-wire.js';
import { temporalConnectionSecurity, type TemporalConnectionSecurity } from '../temporal/connection-security.js';


export interface OperatorEndpointConfig {
  host: string;
  /** 0: a free port. */
  port: number;
  /** How long a session token lives; operators log in again before it ends. */
  sessionTtlMs: number;
  /** The endpoint's own server certificate (PEM); without it the endpoint speaks plaintext (local stacks). */
  tls?: { cert: Buffer; key: Buffer };
  /** The Temporal frontend it proxies to, with the platform-side credentials. */
  temporal: { address: string; namespace: string; security: TemporalConnectionSecurity };
}

const envSchema = z.object({
  PARALLELIX_OPERATOR_ENDPOINT_HOST: z.string().min(1).default('127.0.0.1'),
  PARALLELIX_OPERATOR_ENDPOINT_PORT: z.coerce.number().int().min(0).max(65_535).default(OPERATOR_ENDPOINT_PORT),
  PARALLELIX_OPERATOR_SESSION_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3_600),
  PARALLELIX_OPERATOR_ENDPOINT_TLS_CERT: z.string().min(1).optional(),
  PARALLELIX_OPERATOR_ENDPOINT_TLS_KEY: z.string().min(1).optional(),
});

function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${variable} names a file that cannot be read`, { details: (error as Error).message });
  }
}

/**
 * The operator endpoint's configuration: PARALLELIX_OPERATOR_ENDPOINT_HOST (default 127.0.0.1; 0.0.0.0 to serve
 * remote operators), PARALLELIX_OPERATOR_ENDPOINT_PORT (default 7280, 0 a free port),
 * PARALLELIX_OPERATOR_SESSION_TTL_SECONDS (default 3600), PARALLELIX_OPERATOR_ENDPOINT_TLS_CERT + _KEY (PEM files),
 * and the Temporal it proxies to as every platform process finds it (PARALLELIX_TEMPORAL_ADDRESS / _NAMESPACE or
 * the local stack; PARALLELIX_TEMPORAL_TLS*, PARALLELIX_TEMPORAL_API_KEY). Throws ConfigError.
 */
export function loadOperatorEndpointConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: { port?: number; temporal?: { address: string; namespace: string } } = {},
): OperatorEndpointConfig {
  const e = parseEnv(envSchema, env, 'operator endpoint');
  if (Boolean(e.PARALLELIX_OPERATOR_ENDPOINT_TLS_CERT) !== Boolean(e.PARALLELIX_OPERATOR_ENDPOINT_TLS_KEY)) {
    throw new ConfigError('PARALLELIX_OPERATOR_ENDPOINT_TLS_CERT and PARALLELIX_OPERATOR_ENDPOINT_TLS_KEY go together (the endpoint\'s server certificate)');
  }
  const tls = e.PARALLELIX_OPERATOR_ENDPOINT_TLS_CERT && e.PARALLELIX_OPERATOR_ENDPOINT_TLS_KEY
    ? {
        cert: readPem(e.PARALLELIX_OPERATOR_ENDPOINT_TLS_CERT, 'PARALLELIX_OPERATOR_ENDPOINT_TLS_CERT'),
        key: readPem(e.PARALLELIX_OPERATOR_ENDPOINT_TLS_KEY, 'PARALLELIX_OPERATOR_ENDPOINT_TLS_KEY'),
      }
    : undefined;
  if (!tls && !['127.0.0.1', 'localhost', '::1'].includes(e.PARALLELIX_OPERATOR_ENDPOINT_HOST)) {
    throw new ConfigError(`the operator endpoint listens on ${e.PARALLELIX_OPERATOR_ENDPOINT_HOST} without TLS`, {
      details: 'Session tokens would cross the network in clear: set PARALLELIX_OPERATOR_ENDPOINT_TLS_CERT and _KEY, or listen on 127.0.0.1 behind a TLS-terminating proxy.',
    });
  }
  return {
    host: e.PARALLELIX_OPERATOR_ENDPOINT_HOST,
    port: overrides.port ?? e.PARALLELIX_OPERATOR_ENDPOINT_PORT,
    sessionTtlMs: e.PARALLELIX_OPERATOR_SESSION_TTL_SECONDS * 1_000,
    ...(tls ? { tls } : {}),
    temporal: { ...(overrides.temporal ?? resolveTemporal(env)), security: temporalConnectionSecurity(env) },
  };
}
