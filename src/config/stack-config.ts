import { z } from 'zod';
import { parseEnv } from '../shared/parse-env.js';

const port = z.coerce.number().int().min(1).max(65535);
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL');

const stackEnvSchema = z.object({
  PARALLELIX_TEMPORAL: z.enum(['dev', 'cluster']).default('dev'),
  PARALLELIX_TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  PARALLELIX_TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  PARALLELIX_TEMPORAL_PORT: port.default(7233),
  PARALLELIX_TEMPORAL_UI_PORT: port.optional(),
  PARALLELIX_TEMPORAL_DATABASE_URL: postgresUrl.optional(),
  DATABASE_URL: postgresUrl.optional(),
  PARALLELIX_POSTGRES_PORT: port.default(5433),
});

/** Which local Temporal `parallelix start` runs when no PARALLELIX_TEMPORAL_ADDRESS is given. */
export type LocalTemporalKind = 'dev' | 'cluster';

/**
 * Where the stack's services are: started locally on embedded defaults, or existing ones named by env.
 * - PARALLELIX_TEMPORAL_ADDRESS set → use that Temporal frontend. Else PARALLELIX_TEMPORAL (or `start --temporal`):
 *   `dev` (default) starts the dev server on PARALLELIX_TEMPORAL_PORT (7233) with its Web UI on
 *   PARALLELIX_TEMPORAL_UI_PORT (port + 1000); `cluster` starts the Temporal server on PostgreSQL (frontend on
 *   PARALLELIX_TEMPORAL_PORT) with its databases on PARALLELIX_TEMPORAL_DATABASE_URL's server, else on the stack's
 *   own database server (DATABASE_URL's, or the embedded one).
 * - DATABASE_URL set → that PostgreSQL (database created and migrated if needed); else the embedded PostgreSQL
 *   server (src/devstack/embedded-postgres.ts) on PARALLELIX_POSTGRES_PORT (5433), data in `<state>/postgres`.
 * - Chain: see src/chain/config.ts (PARALLELIX_CHAIN_* or a local anvil on PARALLELIX_ANVIL_PORT).
 */
export interface StackConfig {
  temporal:
    | { mode: 'external'; address: string; namespace: string }
    | { mode: 'dev-server'; grpcPort: number; uiPort: number; namespace?: string }
    /** `databaseUrl`: an admin URL of the server for the Temporal databases; unset → the stack's database server. */
    | { mode: 'cluster'; grpcPort: number; databaseUrl?: string };
  database: { mode: 'postgres'; url: string } | { mode: 'embedded'; port: number };
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env, overrides: { temporal?: LocalTemporalKind } = {}): StackConfig {
  const e = parseEnv(stackEnvSchema, env, 'stack');
  const kind = overrides.temporal ?? e.PARALLELIX_TEMPORAL;
  return {
    temporal: e.PARALLELIX_TEMPORAL_ADDRESS
      ? { mode: 'external', address: e.PARALLELIX_TEMPORAL_ADDRESS, namespace: e.PARALLELIX_TEMPORAL_NAMESPACE ?? 'parallelix' }
      : kind === 'cluster'
        ? {
            mode: 'cluster',
            grpcPort: e.PARALLELIX_TEMPORAL_PORT,
            ...(e.PARALLELIX_TEMPORAL_DATABASE_URL ? { databaseUrl: e.PARALLELIX_TEMPORAL_DATABASE_URL } : {}),
          }
        : { mode: 'dev-server', grpcPort: e.PARALLELIX_TEMPORAL_PORT, uiPort: e.PARALLELIX_TEMPORAL_UI_PORT ?? e.PARALLELIX_TEMPORAL_PORT + 1000 },
    database: e.DATABASE_URL ? { mode: 'postgres', url: e.DATABASE_URL } : { mode: 'embedded', port: e.PARALLELIX_POSTGRES_PORT },
  };
}

