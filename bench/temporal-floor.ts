/**
 * The Temporal floor: what one workflow per request costs with no work inside it. Two worker processes (the
 * coordinator's worker settings running bench/floor/workflow.ts, a node worker serving its one activity) on a given
 * Temporal server, and this process as the client (start, then the result's long-poll). Each point reports runs/s,
 * latency and CPU ms per run per process, as the pipeline's points do: the pipeline's figures minus these are what
 * ParalleliX's own work costs (crypto, database, chain, codec, search attributes, the operator endpoint).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { projectRoot } from '../src/shared/paths.js';
import { selfCpuMs, treeCpuMs } from './proc-cpu.js';
import { distribution, round } from './stats.js';
import type { FloorInput } from './floor/workflow.js';

const COORDINATOR_QUEUE = 'floor-coordinator';
const NODE_QUEUE = 'floor-node';
export const FLOOR_SERVICES = ['worker', 'node', 'temporal', 'client'] as const;
export type FloorService = (typeof FLOOR_SERVICES)[number];
export type FloorCpu = Record<FloorService | 'total', number>;

/** The Temporal server the floor runs on: the pipeline's own in the bench, a private one in `npm run bench:floor`. */
export interface FloorServer {
  address: string;
  namespace: string;
  client: Client;
  /** The server's guard process, for its CPU; null: not measured. */
  serverPid: number | null;
}

export interface FloorPoint {
  runs: number;
  concurrency: number;
  runsPerSecond: number;
  latencyMs: { p50: number; p95: number };
  cpuMsPerRun: FloorCpu;
  /** Runs one core could serve per second at this CPU per run. */
  runsPerCoreSecond: number;
}

export interface FloorWorkers {
  measure(count: number, concurrency: number): Promise<FloorPoint>;
  stop(): Promise<void>;
}

async function startWorker(role: 'coordinator' | 'node', server: FloorServer): Promise<ChildProcess> {
  const { NODE_OPTIONS: _jest, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('bench', 'floor', 'worker.ts'), role, server.address, server.namespace, COORDINATOR_QUEUE, NODE_QUEUE],
    { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve();
    });
    child.once('exit', (code) => reject(new Error(`floor ${role} worker exited with ${code} before it was ready`)));
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

export async function startFloorWorkers(server: FloorServer): Promise<FloorWorkers> {
  const workers: ChildProcess[] = [];
  try {
    workers.push(await startWorker('coordinator', server), await startWorker('node', server));
  } catch (error) {
    await Promise.all(workers.map(stopWorker));
    throw error;
  }
  const [worker, node] = workers as [ChildProcess, ChildProcess];
  const read = (): Record<FloorService, number> => ({
    worker: treeCpuMs(worker.pid!),
    node: treeCpuMs(node.pid!),
    temporal: server.serverPid ? treeCpuMs(server.serverPid) : 0,
    client: selfCpuMs(),
  });
  const runOne = async (): Promise<number> => {
    const started = performance.now();
    const input: FloorInput = { prompt: 'floor', nodeQueue: NODE_QUEUE };
    await server.client.workflow.execute('floorWorkflow', { taskQueue: COORDINATOR_QUEUE, workflowId: `floor-${randomUUID()}`, args: [input] });
    return performance.now() - started;
  };
  return {
    async measure(count, concurrency) {
      const latencies: number[] = [];
      let next = 0;
      const from = read();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            next += 1;
            latencies.push(await runOne());
          }
        }),
      );
      const wallMs = performance.now() - started;
      const to = read();
      const cpu = { total: 0 } as FloorCpu;
      for (const s of FLOOR_SERVICES) {
        cpu[s] = round((to[s] - from[s]) / count, 1);
        cpu.total += (to[s] - from[s]) / count;
      }
      cpu.total = round(cpu.total, 1);
      const latency = distribution(latencies);
      return {
        runs: count,
        concurrency,
        runsPerSecond: round(count / (wallMs / 1000), 2),
        latencyMs: { p50: round(latency.p50, 1), p95: round(latency.p95, 1) },
        cpuMsPerRun: cpu,
        runsPerCoreSecond: round(1000 / cpu.total, 1),
      };
    },
    async stop() {
      await Promise.all(workers.map(stopWorker));
    },
  };
}
