/**
 * `npm run bench:scale-out [-- --quick]`: the bench's main points (sequential latency, closed-loop throughput) on the
 * Temporal dev server vs the Temporal server on PostgreSQL, each with 1 and 2 `parallelix coordinator` processes,
 * and the CPU each service spent per completed request (from /proc). Same machine, back to back, same operators.
 * Writes bench/results/scale-out-<timestamp>.json and prints a table. On a shared machine the wall times are noisy:
 * CPU ms per request and ratios within one run are the numbers to compare.
 */
import './quiet-logs.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { withDatabase } from '../src/db/pg-url.js';
import { projectRoot } from '../src/shared/paths.js';
import { testAdminUrl } from '../test/helpers/database.js';
import { startTestNetwork, type TestNetwork } from '../test/helpers/network.js';
import type { TestCluster } from '../test/helpers/temporal.js';
import { provideTestPostgres } from '../test/helpers/test-postgres.js';
import { machineFacts } from './machine.js';
import { runBatch } from './pipeline.js';
import { backendPids, processCpuMs, treeCpuMs, type CpuReading } from './proc-cpu.js';
import { freshUser, latencies, waitForNodes } from './scenarios.js';
import { distribution, round, type Distribution } from './stats.js';
import { formatTable } from './table.js';
import { runBench } from './standalone.js';

const quick = process.argv.includes('--quick');
const OPTIONS = quick
  ? { maxNewTokens: 32, operators: 3, warmup: 6, latencyRequests: 20, throughputRequests: 48, concurrency: 16 }
  : { maxNewTokens: 32, operators: 3, warmup: 9, latencyRequests: 60, throughputRequests: 160, concurrency: 16 };

const started = Date.now();
const progress = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

interface Phase {
  requests: number;
  wallMs: number;
  latencyMs: Distribution;
  requestsPerSecond: number;
  /** CPU ms per completed request, per service: all CPU spent during the phase / requests. */
  cpuMsPerRequest: Record<string, number>;
  /** The same less what the service burns idle (pollers, health probes, timers) over the phase's wall time. */
  busyCpuMsPerRequest: Record<string, number>;
}

interface ConfigurationResult {
  temporal: 'dev' | 'cluster';
  coordinators: number;
  idleCpuMsPerSecond: Record<string, number>;
  latency: Phase;
  throughput: Phase & { concurrency: number };
  /** Completed runs' history (from the cluster's SQL visibility): events and bytes per request. */
  history: { events: Distribution; bytes: Distribution } | null;
}

async function temporalDatabases(network: TestNetwork): Promise<string[]> {
  const server = network.temporal.server as Partial<TestCluster>;
  return server.databases ? [server.databases.default, server.databases.visibility] : [];
}

/** CPU ms so far of each service of the network (PostgreSQL: each backend serving its databases, by pid). */
async function readCpu(network: TestNetwork): Promise<CpuReading> {
  const reading: CpuReading = {};
  if (network.temporal.serverPid) reading.temporal = treeCpuMs(network.temporal.serverPid);
  network.coordinatorProcesses.forEach((c, i) => (reading[`coordinator-${i + 1}`] = processCpuMs(c.pid)));
  let operators = 0;
  for (const { process } of network.operators.values()) operators += process.child.pid ? processCpuMs(process.child.pid) : 0;
  reading.operators = operators;
  reading.anvil = treeCpuMs(network.anvil.pid);
  const usage = process.cpuUsage();
  reading['bench client'] = (usage.user + usage.system) / 1000;
  for (const pid of await backendPids(testAdminUrl(), [network.database.name, ...(await temporalDatabases(network))])) reading[`pg:${pid}`] = processCpuMs(pid);
  return reading;
}

/** CPU ms per service between two readings (PostgreSQL backends summed). */
function spent(from: CpuReading, to: CpuReading): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(to)) {
    const key = name.startsWith('pg:') ? 'postgres' : name;
    out[key] = (out[key] ?? 0) + ms - (from[name] ?? 0);
  }
  return out;
}

const IDLE_WINDOW_MS = 15_000;

/** CPU ms per second each service spends with no request in flight. */
async function idleRates(network: TestNetwork): Promise<Record<string, number>> {
  const before = await readCpu(network);
  await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
  const used = spent(before, await readCpu(network));
  return Object.fromEntries(Object.entries(used).map(([k, v]) => [k, (v * 1000) / IDLE_WINDOW_MS]));
}

async function phase(network: TestNetwork, count: number, concurrency: number, idle: Record<string, number>): Promise<Phase> {
  const userId = await freshUser(network);
  const before = await readCpu(network);
  const batch = await runBatch(network, { userId, count, concurrency, maxNewTokens: OPTIONS.maxNewTokens, sampleProbability: 0 });
  const used = spent(before, await readCpu(network));
  const n = batch.requests.length;
  const per = (f: (service: string, ms: number) => number): Record<string, number> =>
    Object.fromEntries(Object.entries(used).map(([service, ms]) => [service, round(f(service, ms) / n, 2)]));
  return {
    requests: n,
    wallMs: round(batch.wallMs, 0),
    latencyMs: distribution(latencies(batch)),
    requestsPerSecond: round(n / (batch.wallMs / 1000), 2),
    cpuMsPerRequest: per((_s, ms) => ms),
    busyCpuMsPerRequest: per((service, ms) => Math.max(0, ms - ((idle[service] ?? 0) * batch.wallMs) / 1000)),
  };
}

async function historySizes(network: TestNetwork): Promise<ConfigurationResult['history']> {
  const server = network.temporal.server as Partial<TestCluster>;
  if (!server.databases) return null;
  const client = new pg.Client({ connectionString: withDatabase(testAdminUrl(), server.databases.visibility) });
  await client.connect();
  try {
    const { rows } = await client.query<{ history_length: string; history_size_bytes: string }>(
      "SELECT history_length, history_size_bytes FROM executions_visibility WHERE workflow_type_name = 'inferenceWorkflow' AND status = 2",
    );
    return {
      events: distribution(rows.map((r) => Number(r.history_length))),
      bytes: distribution(rows.map((r) => Number(r.history_size_bytes))),
    };
  } finally {
    await client.end();
  }
}

async function measure(temporal: 'dev' | 'cluster', coordinators: number): Promise<ConfigurationResult> {
  progress(`${temporal} server, ${coordinators} coordinator process(es): starting`);
  const network = await startTestNetwork({ temporal, coordinatorProcesses: coordinators, policy: { sampleProbability: 0 } });
  try {
    for (let i = 1; i <= OPTIONS.operators; i += 1) await network.startOperator(`bench-${i}`);
    await waitForNodes(network, OPTIONS.operators);
    await runBatch(network, { userId: await freshUser(network), count: OPTIONS.warmup, concurrency: OPTIONS.operators, maxNewTokens: OPTIONS.maxNewTokens, sampleProbability: 0 });
    const idle = await idleRates(network);
    progress(`  idle CPU ms/s: ${Object.entries(idle).filter(([k]) => !k.startsWith('bench')).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    const latency = await phase(network, OPTIONS.latencyRequests, 1, idle);
    progress(`  latency p50 ${latency.latencyMs.p50.toFixed(0)} ms`);
    const throughput = { ...(await phase(network, OPTIONS.throughputRequests, OPTIONS.concurrency, idle)), concurrency: OPTIONS.concurrency };
    progress(`  throughput c=${OPTIONS.concurrency}: ${throughput.requestsPerSecond} requests/s, p50 ${throughput.latencyMs.p50.toFixed(0)} ms`);
    return { temporal, coordinators, idleCpuMsPerSecond: idle, latency, throughput, history: await historySizes(network) };
  } finally {
    await network.stop();
  }
}

async function main(): Promise<void> {
  const results: ConfigurationResult[] = [];
  // The coordinators' databases and the cluster's own on one server: PARALLELIX_TEST_PG_URL, else an embedded one.
  const testPostgres = await provideTestPostgres({ durable: true });
  progress(`PostgreSQL: ${testPostgres.description}`);
  try {
    for (const temporal of ['dev', 'cluster'] as const) {
      for (const coordinators of [1, 2]) results.push(await measure(temporal, coordinators));
    }
  } finally {
    await testPostgres.stop();
  }
  const services = [...new Set(results.flatMap((r) => Object.keys(r.throughput.cpuMsPerRequest)))].filter((s) => !s.startsWith('coordinator-'));
  const coordinatorCpu = (cpu: Record<string, number>): number => round(Object.entries(cpu).filter(([k]) => k.startsWith('coordinator-')).reduce((s, [, v]) => s + v, 0), 2);
  console.log(`\nScale-out bench (${quick ? 'quick' : 'full'}): ${OPTIONS.operators} operators, maxNewTokens ${OPTIONS.maxNewTokens}; shared machine: compare CPU ms and ratios, not wall times\n`);
  console.log(
    formatTable(
      ['temporal', 'coordinators', 'latency p50 ms', 'latency p95 ms', 'throughput req/s', 'throughput p50 ms'],
      results.map((r) => [r.temporal, r.coordinators, r.latency.latencyMs.p50, r.latency.latencyMs.p95, r.throughput.requestsPerSecond, r.throughput.latencyMs.p50]),
    ),
  );
  for (const [label, pick] of [['all CPU', (p: Phase) => p.cpuMsPerRequest], ['busy CPU (less idle)', (p: Phase) => p.busyCpuMsPerRequest]] as const) {
    console.log(`\n${label} ms per request, throughput phase (c=${OPTIONS.concurrency}) / latency phase (c=1):\n`);
    console.log(
      formatTable(
        ['temporal', 'coordinators', 'coordinator processes', ...services],
        results.map((r) => [
          r.temporal,
          r.coordinators,
          `${coordinatorCpu(pick(r.throughput))} / ${coordinatorCpu(pick(r.latency))}`,
          ...services.map((s) => `${pick(r.throughput)[s] ?? 0} / ${pick(r.latency)[s] ?? 0}`),
        ]),
      ),
    );
  }
  for (const r of results.filter((x) => x.history)) {
    console.log(`\nhistory per request on the cluster (${r.coordinators} coordinator(s)): ${r.history!.events.p50} events, ${r.history!.bytes.p50} bytes (p50)`);
  }
  const dir = path.join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `scale-out-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ startedAt: new Date(started).toISOString(), durationSeconds: (Date.now() - started) / 1000, mode: quick ? 'quick' : 'full', options: OPTIONS, machine: machineFacts(), results }, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
}

runBench(main);
