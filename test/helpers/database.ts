import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { applyMigrations } from '../../src/db/migrate.js';
import { quoteIdent, withDatabase } from '../../src/db/pg-url.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';

/** Admin connection to the test PostgreSQL server, which jest's global setup provides (test/helpers/test-postgres.ts). */
export function testAdminUrl(): string {
  const url = process.env.PARALLELIX_TEST_PG_URL;
  if (!url) {
    throw new Error('PARALLELIX_TEST_PG_URL is not set: run the tests with `npm test` or jest (its global setup starts an embedded PostgreSQL), or set it to a server where tests may create databases');
  }
  return url;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testAdminUrl() });
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

/** A database name no other test uses (`px_test_…`). */
export function uniqueDatabaseName(): string {
  return `px_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Terminates remaining connections and drops the databases. */
export async function dropTestDatabases(names: string[]): Promise<void> {
  for (const name of names) await admin(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/**
 * A fresh, uniquely named database on the test server. Migrated with src/db/migrate.ts unless
 * `migrate: false` (to test migrating an empty database).
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = uniqueDatabaseName();
  await admin(`CREATE DATABASE ${quoteIdent(name)}`);
  const url = withDatabase(testAdminUrl(), name);
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

/**
 * A migrated test database and a client on it for one test file: created in `beforeAll`, disconnected and dropped in
 * `afterAll`. Read `db` inside tests (it exists once `beforeAll` has run).
 */
export function useTestDatabase(options: { maxConnections?: number } = {}): { readonly db: PrismaClient } {
  let database: TestDatabase | undefined;
  let client: PrismaClient | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    client = createPrismaClient(database.url, { maxConnections: options.maxConnections ?? 2 });
  });
  afterAll(async () => {
    await client?.$disconnect();
    await database?.drop();
  });
  return {
    get db() {
      if (!client) throw new Error('the test database is created in beforeAll: read db inside a test');
      return client;
    },
  };
}
