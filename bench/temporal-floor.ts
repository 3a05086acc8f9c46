/**
 * The Temporal floor: what one workflow per request costs with no work inside it. Two worker processes (the
 * coordinator's worker settings running bench/floor/workflow.ts, a node worker serving its one activity) on a given
 * Temporal server, and this process as the client (start, then the result's long-poll). Each point reports runs/s,
 * latency and CPU ms per run per process, as the pipeline's points do: the pipeline's figures minus these are what
 * ParalleliX's own work costs (crypto, database, chain, codec, search attributes, the operator endpoint).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { waitForLogLine } from '../src/devstack/cli-service.js';
import { projectRoot, stateDir } from '../src/shared/paths.js';
import { spawnService, type ServiceProcess } from '../src/shared/service-process.js';
import { closedLoop } from './closed-loop.js';
import { cpuPerCompleted, selfCpuMs, treeCpuMs } from './proc-cpu.js';
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

/** Bundling the workflow on a loaded 2-core machine takes a while. */
const READY_TIMEOUT_MS = 120_000;

/** One floor worker process under the stack's orphan guard (logs in `<state>/logs/bench-floor-<role>.log`). */
async function startWorker(role: 'coordinator' | 'node', server: FloorServer): Promise<ServiceProcess> {
  const { NODE_OPTIONS: _jest, ...env } = process.env;
  const logFile = path.join(stateDir(), 'logs', `bench-floor-${role}.log`);
  rmSync(logFile, { force: true }); // the log is this run's, so an earlier run's "ready" cannot match
  const worker = spawnService({
    name: `bench-floor-${role}`,
    command: process.execPath,
    args: ['--import', 'tsx', path.join('bench', 'floor', 'worker.ts'), role, server.address, server.namespace, COORDINATOR_QUEUE, NODE_QUEUE],
    logFile,
    cwd: projectRoot,
    env,
  });
  try {
    await waitForLogLine(worker, /^ready$/m, Date.now() + READY_TIMEOUT_MS);
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}

export async function startFloorWorkers(server: FloorServer): Promise<FloorWorkers> {
  const worker = await startWorker('coordinator', server);
  const node = await startWorker('node', server).catch(async (error: unknown) => {
    await worker.stop();
    throw error;
  });
  const read = (): Record<FloorService, number> => ({
    worker: treeCpuMs(worker.pid),
    node: treeCpuMs(node.pid),
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
      const from = read();
      const started = performance.now();
      await closedLoop(count, concurrency, async () => {
        latencies.push(await runOne());
      });
      const wallMs = performance.now() - started;
      const cpu: FloorCpu = cpuPerCompleted(FLOOR_SERVICES, from, read(), count);
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
      await Promise.all([worker.stop(), node.stop()]);
    },
  };
}
