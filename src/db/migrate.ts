import pg from 'pg';
import { createLogger } from '../shared/logger.js';
import { MigrationError } from './errors.js';
import { migrationsDir, readMigrationsList } from './migrations-dir.js';
import { databaseName, quoteIdent, redactUrl, withDatabase } from './pg-url.js';
import { openSchemaEngine } from './schema-engine.js';

const log = createLogger('db-migrate');
const noFilter = { externalTables: [], externalEnums: [] };

/**
 * Creates the database named in `databaseUrl` if it does not exist, connecting to the server's
 * `postgres` database. Returns true when it was created.
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  const admin = new pg.Client({ connectionString: withDatabase(databaseUrl, 'postgres') });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    log.info({ database: name }, `creating database ${name}`);
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } catch (error) {
      // Another process created it between the check and the create.
      if (error instanceof pg.DatabaseError && error.code === '42P04') return false;
      throw error;
    }
    return true;
  } finally {
    await admin.end();
  }
}

export interface ApplyMigrationsOptions {
  /** Folder holding `<timestamp>_<name>/migration.sql` and `migration_lock.toml`; defaults to prisma/migrations. */
  migrationsDir?: string;
}

/**
 * Applies the pending migrations of prisma/migrations, like `prisma migrate deploy`, offline through the
 * WebAssembly schema engine: rows go to `_prisma_migrations` with the CLI's checksums, an advisory lock
 * serialises concurrent callers, and a second run applies nothing.
 */
export async function applyMigrations(
  databaseUrl: string,
  options: ApplyMigrationsOptions = {},
): Promise<{ applied: string[] }> {
  const migrationsList = await readMigrationsList(options.migrationsDir ?? migrationsDir);
  const names = migrationsList.migrationDirectories.map((d) => d.path);
  log.info({ url: redactUrl(databaseUrl), migrations: names.length }, `checking ${names.length} migration(s)`);
  const { engine, close } = await openSchemaEngine(databaseUrl);
  try {
    const before = await appliedNames(databaseUrl);
    for (const name of names) if (!before.has(name)) log.info({ migration: name }, `applying migration ${name}`);
    const out = await engine.applyMigrations({ migrationsList, filters: noFilter });
    for (const name of out.appliedMigrationNames) log.info({ migration: name }, `applied migration ${name}`);
    if (out.appliedMigrationNames.length === 0) log.info('database schema is up to date');
    return { applied: out.appliedMigrationNames };
  } catch (error) {
    throw new MigrationError('Applying database migrations failed', { details: errorText(error), cause: error });
  } finally {
    await close();
  }
}

/** Names of migrations already finished in `_prisma_migrations` (empty when the table does not exist). */
async function appliedNames(databaseUrl: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const table = await client.query(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present`);
    if (!table.rows[0]?.present) return new Set();
    const rows = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    return new Set(rows.rows.map((r) => r.migration_name));
  } finally {
    await client.end();
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) return JSON.stringify(error);
  return String(error);
}
