import { readFileSync } from 'node:fs';
import pg from 'pg';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one process in ms (0 when it is gone). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU ms of a process and all its descendants (a guarded service: the guard shell and the server under it). */
export function treeCpuMs(pid: number): number {
  return processCpuMs(pid) + children(pid).reduce((sum, child) => sum + treeCpuMs(child), 0);
}

/** PostgreSQL backends serving these databases right now (this bench runs as root, so /proc has them). */
export async function backendPids(adminUrl: string, databases: string[]): Promise<number[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()', [databases]);
    return rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}

/** CPU per named service between two readings; backends that came and went in between are missed (pools keep theirs). */
export type CpuReading = Record<string, number>;

export function cpuDelta(from: CpuReading, to: CpuReading): CpuReading {
  return Object.fromEntries(Object.entries(to).map(([name, ms]) => [name, ms - (from[name] ?? 0)]));
}
