import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { withDatabase } from '../../db/pg-url.js';
import { ProvisioningError } from '../../shared/errors.js';
import type { ProgressReporter } from '../go-install.js';
import type { ClusterConfig, SqlEndpoint } from './cluster-config.js';

export interface ApplySchemaOptions {
  sqlTool: string;
  /** An admin URL of the PostgreSQL server (its user may create databases). */
  adminUrl: string;
  sql: SqlEndpoint & { password: string };
  cluster: ClusterConfig;
  databases: { default: string; visibility: string };
  logFile: string;
  report: ProgressReporter;
}

/** 64-bit advisory lock key for a name (PostgreSQL takes a signed bigint). */
function lockKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

function runSqlTool(options: ApplySchemaOptions, database: string, args: string[]): Promise<void> {
  const { sql } = options;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SQL_PLUGIN: options.cluster.sqlPlugin,
    SQL_HOST: sql.host,
    SQL_PORT: String(sql.port),
    SQL_USER: sql.user,
    SQL_PASSWORD: sql.password, // by environment: never on a command line that `ps` shows
    SQL_DATABASE: database,
    ...(sql.tls.enabled ? { SQL_TLS: 'true', SQL_TLS_DISABLE_HOST_VERIFICATION: sql.tls.verifyHost ? 'false' : 'true' } : {}),
  };
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  appendFileSync(options.logFile, `\n$ temporal-sql-tool --db ${database} ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(options.sqlTool, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let lastLine = '';
    const onOutput = (chunk: Buffer): void => {
      appendFileSync(options.logFile, chunk);
      for (const line of chunk.toString().split('\n')) if (line.trim()) lastLine = line.trim();
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new ProvisioningError(`temporal-sql-tool ${args[0]} failed on database ${database} (exit ${code}).`, { details: `${lastLine}; see ${options.logFile}` }));
    });
  });
}

async function schemaVersion(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ curr_version: string }>('SELECT curr_version FROM schema_version WHERE version_partition = 0');
    return rows[0]?.curr_version ?? null;
  } catch {
    return null;
  } finally {
    await client.end();
  }
}

/**
 * The server's official schema on PostgreSQL, applied by its own SQL tool: each database (default store,
 * visibility) is created if missing, versioning is set up, then `update-schema` runs the embedded versioned schema
 * up to the server's version. Idempotent, and serialised per database by an advisory lock, so concurrent starts
 * and restarts apply nothing twice.
 */
export async function applyServerSchema(options: ApplySchemaOptions): Promise<void> {
  const admin = new pg.Client({ connectionString: options.adminUrl, connectionTimeoutMillis: 10_000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new ProvisioningError('cannot reach the PostgreSQL server for the Temporal cluster', { details: String(error), cause: error });
  }
  try {
    for (const store of ['default', 'visibility'] as const) {
      const database = options.databases[store];
      await admin.query('SELECT pg_advisory_lock($1)', [lockKey(`parallelix-temporal-schema:${database}`)]);
      try {
        const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (exists.rowCount === 0) {
          options.report(`creating database ${database}`);
          await runSqlTool(options, database, ['create-database']);
        }
        const url = withDatabase(options.adminUrl, database);
        const before = await schemaVersion(url);
        await runSqlTool(options, database, ['setup-schema', '-v', '0.0']);
        await runSqlTool(options, database, ['update-schema', '--schema-name', options.cluster.schemas[store]]);
        const after = await schemaVersion(url);
        options.report(before === after ? `${store} schema up to date (${database} v${after})` : `applied ${store} schema to ${database}: v${before ?? 'none'} → v${after}`);
      } finally {
        await admin.query('SELECT pg_advisory_unlock($1)', [lockKey(`parallelix-temporal-schema:${database}`)]);
      }
    }
  } finally {
    await admin.end();
  }
}
