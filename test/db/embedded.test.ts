import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrismaClient, disconnect } from '../../src/db/client.js';
import { getBalance, reserveHold, topUp } from '../../src/db/credits.js';
import { startEmbeddedDatabase } from '../../src/db/embedded.js';
import { applyMigrations, ensureDatabase } from '../../src/db/migrate.js';

describe('embedded PGlite database', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'px-pglite-')), 'pglite');
  });
  afterAll(async () => {
    await rm(path.dirname(dataDir), { recursive: true, force: true });
  });

  test('starts, migrates, serves Prisma, stops, and reopens the same data directory', async () => {
    let applied: string[] = [];
    let again: string[] | undefined;
    const first = await startEmbeddedDatabase({
      dataDir,
      port: 0,
      // Migrations need several connections: they run before the database is served to its single one.
      prepare: async (url) => {
        expect(await ensureDatabase(url)).toBe(false);
        applied = (await applyMigrations(url)).applied;
        again = (await applyMigrations(url)).applied;
      },
    });
    try {
      expect(first.url).toMatch(/^postgresql:\/\/.*127\.0\.0\.1:\d+\/postgres/);
      expect(first.poolSize).toBe(1);
      expect(applied.length).toBeGreaterThan(0);
      expect(again).toEqual([]);

      const db = createPrismaClient(first.url, { maxConnections: first.poolSize });
      try {
        const version = await db.$queryRaw<Array<{ version: string }>>`SELECT version()`;
        expect(version[0]?.version).toMatch(/PostgreSQL/);
        await topUp(db, 'embedded-user', 100n, 'seed');
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            reserveHold(db, { userExternalId: 'embedded-user', requestId: `embedded-${i}`, amount: 10n }),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
        expect(await getBalance(db, 'embedded-user')).toEqual({ balance: 0n, held: 100n });
      } finally {
        await disconnect(db);
      }
    } finally {
      await first.stop();
    }

    let reapplied: string[] | undefined;
    const second = await startEmbeddedDatabase({ dataDir, prepare: async (url) => void (reapplied = (await applyMigrations(url)).applied) });
    try {
      expect(reapplied).toEqual([]);
      const db = createPrismaClient(second.url, { maxConnections: 1 });
      try {
        expect(await getBalance(db, 'embedded-user')).toEqual({ balance: 0n, held: 100n });
        expect(await db.creditHold.count()).toBe(10);
      } finally {
        await disconnect(db);
      }
    } finally {
      await second.stop();
    }
  });
});
