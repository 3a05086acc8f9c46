import { readFileSync } from 'node:fs';
import pg from 'pg';
import { round } from './stats.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (field 3 onwards): utime, stime, cutime, cstime are fields 14–17.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of one process in ms (0 when it is gone). */
export function processCpuMs(pid: number): number {
  const fields = statFields(pid);
  return fields ? ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND : 0;
}

/** cutime + cstime: what the process's children that ended (and were waited for) spent, in ms. */
function reapedChildrenCpuMs(pid: number): number {
  const fields = statFields(pid);
  return fields ? ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND : 0;
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * CPU ms of a process and all its descendants: its own utime + stime, its ended children's (cutime + cstime, e.g. a
 * PostgreSQL backend that served one connection), and the living descendants', recursively.
 */
export function treeCpuMs(pid: number): number {
  return processCpuMs(pid) + reapedChildrenCpuMs(pid) + children(pid).reduce((sum, child) => sum + treeCpuMs(child), 0);
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

/** CPU ms per completed unit of work per service between two readings (rounded to 0.1 ms), and their total. */
export function cpuPerCompleted<S extends string>(services: readonly S[], from: CpuReading, to: CpuReading, completed: number): Record<S | 'total', number> {
  const out = { total: 0 } as Record<S | 'total', number>;
  for (const service of services) {
    const ms = completed > 0 ? ((to[service] ?? 0) - (from[service] ?? 0)) / completed : Number.NaN;
    out[service] = round(ms, 1);
    out.total += ms;
  }
  out.total = round(out.total, 1);
  return out;
}

export function cpuDelta(from: CpuReading, to: CpuReading): CpuReading {
  return Object.fromEntries(Object.entries(to).map(([name, ms]) => [name, ms - (from[name] ?? 0)]));
}

/** This process (the bench: the client that submits and awaits requests), user + system, ms. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
