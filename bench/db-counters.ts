/**
 * Database round trips, counted by PostgreSQL itself: xact_commit + xact_rollback of the bench database in
 * pg_stat_database. Every statement Prisma sends outside a transaction is one implicit transaction, and an
 * interactive transaction counts once however many statements it holds, so this is a lower bound on round trips
 * (pg_stat_statements would count statements, but the shared server does not preload it). Backends report their
 * counters lazily (after at most ~10 s idle), so a reading waits for that, and the background rate (health probes,
 * node announcements), measured while idle right after, is subtracted: an estimate, ± a few.
 */
import pg from 'pg';
import { testAdminUrl } from '../test/helpers/database.js';

/** PostgreSQL flushes a busy backend's counters within 1 s and an idle one's within 10 s (PGSTAT_IDLE_INTERVAL). */
export const STATS_FLUSH_MS = 11_000;

export interface XactReading {
  at: number;
  transactions: number;
}

export async function readTransactions(database: string): Promise<XactReading> {
  const client = new pg.Client({ connectionString: testAdminUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    return { at: performance.now(), transactions: Number(rows[0]?.n ?? 0) };
  } finally {
    await client.end();
  }
}

export interface DbRoundTrips {
  method: string;
  requests: number;
  rawTransactions: number;
  /** Idle rate measured right after the batch's counters were flushed. */
  backgroundPerSecond: number;
  windowSeconds: number;
  transactionsPerRequest: number;
}

type Window = { from: XactReading; to: XactReading };

function rate(w: Window): number {
  return (w.to.transactions - w.from.transactions) / ((w.to.at - w.from.at) / 1000);
}

/** `busy` must start after earlier work has been flushed (wait STATS_FLUSH_MS) and end STATS_FLUSH_MS after the batch. */
export function roundTripsPerRequest(busy: Window, idleAfter: Window, requests: number): DbRoundTrips {
  // The admin connection's own reads are in another database, so they do not count here.
  const backgroundPerSecond = rate(idleAfter);
  const windowSeconds = (busy.to.at - busy.from.at) / 1000;
  const rawTransactions = busy.to.transactions - busy.from.transactions;
  return {
    method: 'pg_stat_database xact_commit+xact_rollback delta over a sequential batch (11 s flush waits before and after), minus the idle background rate measured right after; implicit transactions = statements outside a transaction, one per interactive transaction',
    requests,
    rawTransactions,
    backgroundPerSecond,
    windowSeconds,
    transactionsPerRequest: (rawTransactions - backgroundPerSecond * windowSeconds) / requests,
  };
}
