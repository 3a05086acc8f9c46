import { createHash } from 'node:crypto';
import { cp, mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { applyMigrations, ensureDatabase } from '../../src/db/migrate.js';
import { diffToSchema } from '../../src/db/migration-diff.js';
import { MigrationError } from '../../src/db/errors.js';
import { migrationsDir } from '../../src/db/migrations-dir.js';
import { quoteIdent, withDatabase } from '../../src/db/pg-url.js';
import { createTestDatabase, testAdminUrl, type TestDatabase } from '../helpers/database.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function migrationNames(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

describe('applyMigrations on a brand-new PostgreSQL database', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('applies every migration, records it like the CLI, then applies nothing', async () => {
    const names = await migrationNames();
    expect(names.length).toBeGreaterThan(0);

    const first = await applyMigrations(db.url);
    expect(first.applied).toEqual(names);

    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number }>(
      db.url,
      'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      const sql = await readFile(path.join(migrationsDir, row.migration_name, 'migration.sql'));
      // The native CLI's checksum: SHA-256 of the migration file.
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).not.toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }

    const second = await applyMigrations(db.url);
    expect(second.applied).toEqual([]);
    const count = await query<{ n: string }>(db.url, 'SELECT count(*) AS n FROM _prisma_migrations');
    expect(Number(count[0]?.n)).toBe(names.length);
  });

  test('creates the expected tables and columns', async () => {
    const columns = await query<{ table_name: string; column_name: string; data_type: string }>(
      db.url,
      `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const byTable = new Map<string, Map<string, string>>();
    for (const c of columns) {
      if (!byTable.has(c.table_name)) byTable.set(c.table_name, new Map());
      byTable.get(c.table_name)?.set(c.column_name, c.data_type);
    }
    const expected: Record<string, string[]> = {
      User: ['id', 'externalId', 'balance', 'held'],
      CreditLedgerEntry: ['userId', 'kind', 'amount', 'requestId', 'idempotencyKey', 'balanceAfter', 'heldAfter'],
      CreditHold: ['requestId', 'userId', 'amount', 'status', 'capturedAmount', 'releasedAmount'],
      Node: ['nodeId', 'boxPublicKey', 'signPublicKey', 'capabilities', 'status', 'reputation', 'penaltyCount', 'registeredAt', 'lastAnnouncedAt'],
      NodePenalty: ['nodeId', 'requestId', 'reason', 'amount', 'createdAt'],
      HealthSample: ['nodeId', 'at', 'up', 'latencyMs'],
      InferenceRequest: ['requestId', 'workflowId', 'userId', 'model', 'status', 'step', 'nodeId', 'sampledNodeId', 'verdict', 'maxCost', 'tokensIn', 'tokensOut', 'createdAt', 'completedAt'],
      ExecutionRecord: ['requestId', 'nodeId', 'poe', 'verdict', 'sampledNodeId', 'anchorTxHash', 'blockNumber', 'anchoredAt'],
      RewardLedgerEntry: ['requestId', 'nodeId', 'weight', 'uptimeFactor'],
      _prisma_migrations: ['migration_name', 'checksum', 'finished_at'],
    };
    for (const [table, cols] of Object.entries(expected)) {
      expect([table, [...(byTable.get(table)?.keys() ?? [])].sort()]).toEqual([table, expect.arrayContaining(cols)]);
    }
    // Money is integral.
    expect(byTable.get('User')?.get('balance')).toBe('bigint');
    expect(byTable.get('CreditHold')?.get('amount')).toBe('bigint');
    expect(byTable.get('Node')?.get('capabilities')).toBe('jsonb');

    const uniques = await query<{ indexname: string }>(
      db.url,
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE%'`,
    );
    expect(uniques.map((u) => u.indexname)).toEqual(
      expect.arrayContaining([
        'User_externalId_key',
        'CreditHold_requestId_key',
        'CreditLedgerEntry_requestId_kind_key',
        'CreditLedgerEntry_idempotencyKey_key',
        'Node_nodeId_key',
        'InferenceRequest_requestId_key',
        'InferenceRequest_workflowId_key',
        'ExecutionRecord_requestId_key',
        'RewardLedgerEntry_requestId_nodeId_key',
      ]),
    );
  });

  test('the database refuses negative balances', async () => {
    await query(db.url, `INSERT INTO "User" (id, "externalId", balance, "updatedAt") VALUES (gen_random_uuid(), 'neg', 5, now())`);
    await expect(query(db.url, `UPDATE "User" SET balance = balance - 6 WHERE "externalId" = 'neg'`)).rejects.toThrow(
      /User_balance_nonnegative/,
    );
  });

  test('the migrations produce exactly prisma/schema.prisma (no drift), and the shadow database is dropped', async () => {
    expect(await diffToSchema(db.url, 'migrations')).toBe('');
    const shadows = await query<{ datname: string }>(
      testAdminUrl(),
      `SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'`,
    );
    expect(shadows).toEqual([]);
  });
});

describe('applyMigrations edge cases', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'px-migrations-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('concurrent runs apply each migration once', async () => {
    const db = await createTestDatabase({ migrate: false });
    try {
      const results = await Promise.all([applyMigrations(db.url), applyMigrations(db.url), applyMigrations(db.url)]);
      expect(results.flatMap((r) => r.applied).sort()).toEqual(await migrationNames());
      const rows = await query(db.url, 'SELECT 1 FROM _prisma_migrations');
      expect(rows).toHaveLength((await migrationNames()).length);
    } finally {
      await db.drop();
    }
  });

  test('a script with semicolons inside string literals is applied whole', async () => {
    const dir = path.join(tmp, 'semicolons');
    await cp(migrationsDir, dir, { recursive: true });
    await mkdir(path.join(dir, '29990101000000_note'));
    await writeFile(
      path.join(dir, '29990101000000_note', 'migration.sql'),
      `CREATE TABLE "Note" ("body" TEXT NOT NULL);\nINSERT INTO "Note" ("body") VALUES ('first; second;'), ($$third;$$);\n`,
    );
    const db = await createTestDatabase({ migrate: false });
    try {
      const { applied } = await applyMigrations(db.url, { migrationsDir: dir });
      expect(applied).toContain('29990101000000_note');
      const rows = await query<{ body: string }>(db.url, 'SELECT body FROM "Note" ORDER BY body');
      expect(rows.map((r) => r.body)).toEqual(['first; second;', 'third;']);
    } finally {
      await db.drop();
    }
  });

  test('a failing migration is rolled back whole, recorded as failed, and blocks later runs', async () => {
    const dir = path.join(tmp, 'failing');
    await cp(migrationsDir, dir, { recursive: true });
    await mkdir(path.join(dir, '29990101000000_broken'));
    await writeFile(
      path.join(dir, '29990101000000_broken', 'migration.sql'),
      `CREATE TABLE "Partial" ("id" INT);\nSELECT * FROM "DoesNotExist";\n`,
    );
    const db = await createTestDatabase({ migrate: false });
    try {
      await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toBeInstanceOf(MigrationError);
      const partial = await query<{ t: string | null }>(db.url, `SELECT to_regclass('"Partial"')::text AS t`);
      expect(partial[0]?.t).toBeNull();
      const failed = await query<{ migration_name: string }>(
        db.url,
        'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NULL AND rolled_back_at IS NULL',
      );
      expect(failed.map((f) => f.migration_name)).toEqual(['29990101000000_broken']);
      await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(/29990101000000_broken/);
    } finally {
      await db.drop();
    }
  });
});

describe('ensureDatabase', () => {
  test('creates a missing database once', async () => {
    const name = `px_test_ensure_${process.pid}_${Date.now().toString(36)}`;
    const url = withDatabase(testAdminUrl(), name);
    try {
      expect(await ensureDatabase(url)).toBe(true);
      expect(await ensureDatabase(url)).toBe(false);
      const found = await query(testAdminUrl(), 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      expect(found).toHaveLength(1);
    } finally {
      await query(testAdminUrl(), `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    }
  });
});
