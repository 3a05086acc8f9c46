import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { z } from 'zod';
import { parseEnv } from '../shared/parse-env.js';
import { ConfigError } from '../shared/errors.js';

const bool = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');

const envSchema = z.object({
  PARALLELIX_TEMPORAL_TLS: bool.optional(),
  PARALLELIX_TEMPORAL_TLS_CA: z.string().min(1).optional(),
  PARALLELIX_TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  PARALLELIX_TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  PARALLELIX_TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  PARALLELIX_TEMPORAL_API_KEY: z.string().min(1).optional(),
});

/** What the platform's processes (coordinator, SDK, gateway, tools) add to a Temporal connection. */
export interface TemporalConnectionSecurity {
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${variable} names a file that cannot be read`, { details: (error as Error).message });
  }
}

/**
 * TLS and API-key settings for Temporal from the environment, for a self-hosted cluster with (m)TLS or Temporal
 * Cloud: PARALLELIX_TEMPORAL_TLS (on implied by any of the others), PARALLELIX_TEMPORAL_TLS_CA (server CA, PEM file),
 * PARALLELIX_TEMPORAL_TLS_CERT + _KEY (client pair for mTLS), PARALLELIX_TEMPORAL_TLS_SERVER_NAME (SNI override),
 * PARALLELIX_TEMPORAL_API_KEY (implies TLS). Nothing set: plaintext, as the local servers speak.
 */
export function temporalConnectionSecurity(env: NodeJS.ProcessEnv = process.env): TemporalConnectionSecurity {
  const e = parseEnv(envSchema, env, 'Temporal connection');
  if (Boolean(e.PARALLELIX_TEMPORAL_TLS_CERT) !== Boolean(e.PARALLELIX_TEMPORAL_TLS_KEY)) {
    throw new ConfigError('PARALLELIX_TEMPORAL_TLS_CERT and PARALLELIX_TEMPORAL_TLS_KEY go together (the client pair for mTLS)');
  }
  const custom: TLSConfig = {
    ...(e.PARALLELIX_TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: e.PARALLELIX_TEMPORAL_TLS_SERVER_NAME } : {}),
    ...(e.PARALLELIX_TEMPORAL_TLS_CA ? { serverRootCACertificate: readPem(e.PARALLELIX_TEMPORAL_TLS_CA, 'PARALLELIX_TEMPORAL_TLS_CA') } : {}),
    ...(e.PARALLELIX_TEMPORAL_TLS_CERT && e.PARALLELIX_TEMPORAL_TLS_KEY
      ? {
          clientCertPair: {
            crt: readPem(e.PARALLELIX_TEMPORAL_TLS_CERT, 'PARALLELIX_TEMPORAL_TLS_CERT'),
            key: readPem(e.PARALLELIX_TEMPORAL_TLS_KEY, 'PARALLELIX_TEMPORAL_TLS_KEY'),
          },
        }
      : {}),
  };
  const wantsTls = e.PARALLELIX_TEMPORAL_TLS ?? (Object.keys(custom).length > 0 || e.PARALLELIX_TEMPORAL_API_KEY !== undefined);
  if (e.PARALLELIX_TEMPORAL_TLS === false && (Object.keys(custom).length > 0 || e.PARALLELIX_TEMPORAL_API_KEY)) {
    throw new ConfigError('PARALLELIX_TEMPORAL_TLS=false contradicts the TLS certificate or API key settings');
  }
  return {
    ...(wantsTls ? { tls: Object.keys(custom).length > 0 ? custom : true } : {}),
    ...(e.PARALLELIX_TEMPORAL_API_KEY ? { apiKey: e.PARALLELIX_TEMPORAL_API_KEY } : {}),
  };
}
