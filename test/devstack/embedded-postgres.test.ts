import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPrismaClient, disconnect } from '../../src/db/client.js';
import { getBalance, reserveHold, topUp } from '../../src/db/credits.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { startEmbeddedPostgres } from '../../src/devstack/embedded-postgres.js';
import { isPortOpen } from '../../src/shared/ports.js';
import { ProvisioningError } from '../../src/shared/errors.js';
import { projectRoot } from '../../src/shared/paths.js';
import { processesUsingStateDir } from '../helpers/cli-process.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'px-embedded-pg-'));
  // As root the server runs as the `postgres` user, which must be able to enter the folder (mkdtemp makes it 0700).
  if (process.getuid?.() === 0) chmodSync(dir, 0o711);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The postmaster's pid, from the first line of postmaster.pid. */
const postmasterPid = (dataDir: string): number => Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

test('a new cluster: password login only, many connections at once, migrated and used by Prisma; data survives a restart', async () => {
  const logFile = path.join(dir, 'postgres.log');
  const first = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: 0, logFile, durable: false });
  let url: string;
  try {
    expect(first.created).toBe(true);
    expect(first.version).toMatch(/^1\d\.\d+/);
    expect(statSync(path.join(dir, 'pg', 'password')).mode & 0o777).toBe(0o600);
    // PostgreSQL refuses to run as root: as root it runs as the `postgres` OS user, otherwise as us.
    const uid = uidOf(postmasterPid(path.join(dir, 'pg', 'data')));
    if (process.getuid?.() === 0) expect(uid).not.toBe(0);
    else expect(uid).toBe(process.getuid?.());

    const wrong = new URL(first.url());
    wrong.password = 'not-the-password';
    await expect(query(wrong.toString(), 'SELECT 1')).rejects.toThrow(/password authentication failed/);

    url = await first.database('px_embedded');
    expect(await first.database('px_embedded')).toBe(url); // already there: nothing to do
    expect((await applyMigrations(url)).applied.length).toBeGreaterThan(0);

    // Twenty sessions at once: a real server, not one session shared by everybody.
    const clients = Array.from({ length: 20 }, () => new pg.Client({ connectionString: url }));
    await Promise.all(clients.map((c) => c.connect()));
    const backends = await Promise.all(clients.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
    expect(new Set(backends).size).toBe(20);
    await Promise.all(clients.map((c) => c.end()));

    const db = createPrismaClient(url, { maxConnections: 10 });
    try {
      await topUp(db, 'embedded-user', 100n, 'seed');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => reserveHold(db, { userExternalId: 'embedded-user', requestId: `embedded-${i}`, amount: 10n })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
      expect(await getBalance(db, 'embedded-user')).toEqual({ balance: 0n, held: 100n });
    } finally {
      await disconnect(db);
    }
  } finally {
    await first.stop();
  }
  expect(await isPortOpen(first.port)).toBe(false);

  const second = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: 0, logFile, durable: false });
  try {
    expect(second.created).toBe(false);
    expect(second.url('px_embedded').replace(`:${second.port}/`, ':X/')).toBe(url.replace(`:${first.port}/`, ':X/'));
    expect((await applyMigrations(second.url('px_embedded'))).applied).toEqual([]);
    const db = createPrismaClient(second.url('px_embedded'));
    try {
      expect(await getBalance(db, 'embedded-user')).toEqual({ balance: 0n, held: 100n });
      expect(await db.creditHold.count()).toBe(10);
    } finally {
      await disconnect(db);
    }
  } finally {
    await second.stop();
  }
}, 120_000);

test('a taken port and a data folder in use are refused with the reason', async () => {
  const server = await startEmbeddedPostgres({ dir: path.join(dir, 'a'), port: 0, logFile: path.join(dir, 'a.log'), durable: false });
  try {
    const samePort = startEmbeddedPostgres({ dir: path.join(dir, 'b'), port: server.port, logFile: path.join(dir, 'b.log'), durable: false });
    await expect(samePort).rejects.toThrow(ProvisioningError);
    await expect(samePort).rejects.toThrow(/Port \d+ \(embedded PostgreSQL\) is already in use[\s\S]*PARALLELIX_POSTGRES_PORT/);
    // The same cluster on another port: PostgreSQL's own lock refuses the second server.
    const sameData = startEmbeddedPostgres({ dir: path.join(dir, 'a'), port: 0, logFile: path.join(dir, 'a2.log'), durable: false });
    await expect(sameData).rejects.toThrow(/exited during start-up[\s\S]*postmaster\.pid/);
    expect((await query<{ one: number }>(server.url(), 'SELECT 1 AS one'))[0]?.one).toBe(1);
  } finally {
    await server.stop();
  }
}, 60_000);

test('the server does not outlive a process that started it and was killed with SIGKILL', async () => {
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const owner = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test', 'fixtures', 'embedded-postgres-owner.ts'), dir], {
    cwd: projectRoot,
    env: { ...env, PARALLELIX_STATE_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    owner.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    owner.once('exit', (code) => reject(new Error(`owner exited (${code}) before the server was ready: ${out}`)));
  });
  expect(await isPortOpen(port)).toBe(true);
  // The owner, the guard shell, the postmaster and its background processes.
  expect(processesUsingStateDir(dir).length).toBeGreaterThanOrEqual(3);
  owner.kill('SIGKILL');
  const deadline = Date.now() + 20_000;
  while ((processesUsingStateDir(dir).length > 0 || (await isPortOpen(port))) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(processesUsingStateDir(dir)).toEqual([]);
  expect(await isPortOpen(port)).toBe(false);
}, 60_000);
