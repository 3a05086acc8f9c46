/**
 * CPU ms per completed request for each process of a bench network, read from /proc (utime + stime of each pid
 * and its descendants, ended ones included): the coordinator process(es), the operator processes, the Temporal
 * server, PostgreSQL, anvil, and the bench process itself (the client that starts runs and awaits their results).
 */
import type { TestNetwork } from '../test/helpers/network.js';
import { testAdminUrl } from '../test/helpers/database.js';
import { backendPids, cpuPerCompleted, selfCpuMs, treeCpuMs, type CpuReading } from './proc-cpu.js';
import { round } from './stats.js';

/** The services every reading names, in table order. */
export const CPU_SERVICES = ['coordinator', 'operators', 'temporal', 'postgres', 'anvil', 'client'] as const;
export type CpuService = (typeof CPU_SERVICES)[number];
export type CpuPerRequest = Record<CpuService | 'total', number>;

export interface CpuMeter {
  read(): Promise<CpuReading>;
}

/**
 * `postgresPid`: the guard of a PostgreSQL server the bench owns alone (its whole process tree counts: backends,
 * WAL writer, checkpointer). Without it (an external server) the backends serving the network's database count.
 * The in-process coordinator, when the network runs one, is inside the bench process and counts as `client`.
 */
export function networkCpuMeter(network: TestNetwork, postgresPid: number | null): CpuMeter {
  const sum = (pids: Array<number | undefined>): number => pids.reduce<number>((s, pid) => s + (pid ? treeCpuMs(pid) : 0), 0);
  return {
    async read() {
      const postgres = postgresPid ? treeCpuMs(postgresPid) : sum(await backendPids(testAdminUrl(), [network.database.name]));
      return {
        coordinator: sum(network.coordinatorProcesses.map((c) => c.pid)),
        operators: sum([...network.operators.values()].map(({ process }) => process.child.pid)),
        temporal: network.temporal.serverPid ? treeCpuMs(network.temporal.serverPid) : 0,
        postgres,
        anvil: treeCpuMs(network.anvil.pid),
        client: selfCpuMs(),
      };
    },
  };
}

/** CPU ms per completed request per network service between two readings, and their total. */
export function cpuPerRequest(from: CpuReading, to: CpuReading, completed: number): CpuPerRequest {
  return cpuPerCompleted(CPU_SERVICES, from, to, completed);
}

/** CPU ms per second each service spends with nothing in flight (health probes, pollers, timers, block production). */
export async function idleCpuPerSecond(meter: CpuMeter, windowMs: number): Promise<Record<CpuService, number>> {
  const from = await meter.read();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const to = await meter.read();
  const seconds = (performance.now() - started) / 1000;
  return Object.fromEntries(CPU_SERVICES.map((s) => [s, round(((to[s] ?? 0) - (from[s] ?? 0)) / seconds, 1)])) as Record<CpuService, number>;
}

/** Runs `work` (which reports how many requests completed) between two readings. */
export async function measureCpu<T>(meter: CpuMeter, work: () => Promise<T>, completed: (value: T) => number): Promise<{ value: T; cpuMsPerRequest: CpuPerRequest }> {
  const from = await meter.read();
  const value = await work();
  return { value, cpuMsPerRequest: cpuPerRequest(from, await meter.read(), completed(value)) };
}
