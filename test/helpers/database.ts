import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { applyMigrations } from '../../src/db/migrate.js';
import { quoteIdent, withDatabase } from '../../src/db/pg-url.js';

/** Admin connection to the local test PostgreSQL server. */
export const testAdminUrl = process.env.PARALLELIX_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testAdminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  /** Terminates remaining connections and drops the database. */
  drop(): Promise<void>;
}

/**
 * A fresh, uniquely named database on the local server. Migrated with src/db/migrate.ts unless
 * `migrate: false` (to test migrating an empty database).
 */
/** A database name no other test uses (`px_test_…`). */
export function uniqueDatabaseName(): string {
  return `px_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Terminates remaining connections and drops the databases. */
export async function dropTestDatabases(names: string[]): Promise<void> {
  for (const name of names) await admin(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = uniqueDatabaseName();
  await admin(`CREATE DATABASE ${quoteIdent(name)}`);
  const url = withDatabase(testAdminUrl, name);
  const drop = () => dropTestDatabases([name]);
  if (options.migrate !== false) {
    try {
      await applyMigrations(url);
    } catch (error) {
      await drop();
      throw error;
    }
  }
  return { url, name, drop };
}
