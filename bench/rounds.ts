/**
 * `npm run bench:rounds [-- --rounds=N]`: CPU per request per process at one load point, in rounds, for A/B runs of
 * two commits on a machine whose speed drifts. The stack of `npm run bench` (one coordinator process, three
 * operator processes, p = 0), a warm-up, 20 sequential requests, then N rounds (default 4) of 64 requests at 16 in
 * flight; each round reports requests/s, latency p50 and the CPU ms per request of each process, and its ratio to the
 * operators' CPU: the operators do a fixed amount of work per request, so the ratio cancels most of the drift that
 * moves every process's CPU together between runs. Alternate the commits being compared, several runs each.
 * Writes bench/results/rounds-<timestamp>.json and prints one JSON line per round.
 */
import './quiet-logs.js';
import { startTestNetwork } from '../test/helpers/network.js';
import { provideTestPostgres } from '../test/helpers/test-postgres.js';
import { networkCpuMeter, type CpuPerRequest } from './network-cpu.js';
import { runBatch } from './pipeline.js';
import { freshUser, throughputPoint, type ThroughputPoint } from './scenarios.js';
import { machineFacts } from './machine.js';
import { round } from './stats.js';
import { runBench, writeBenchResults } from './standalone.js';
import { parseRoundsArg } from './options.js';

const OPERATORS = 3;
const WARMUP = 24;
const SEQUENTIAL = 20;
const PER_ROUND = 64;
const CONCURRENCY = 16;
const MAX_NEW_TOKENS = 32;


interface Round {
  kind: 'sequential' | 'round';
  /** Completed requests (CPU is per completed request); `shed`: turned away at 03 with every node at its cap. */
  requests: number;
  shed: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  cpuMsPerRequest: CpuPerRequest;
  /** Everything but the operators, per ms of operator CPU. */
  nonOperatorPerOperatorCpu: number;
}

/** A throughput point (bench/scenarios.ts) with its CPU put against the operators'. */
function summarize(kind: Round['kind'], point: ThroughputPoint): Round {
  const cpu = point.cpuMsPerRequest!;
  return {
    kind,
    requests: point.completed,
    shed: point.rejected,
    requestsPerSecond: round(point.requestsPerSecond, 2),
    latencyP50Ms: round(point.latencyMs.p50, 1),
    cpuMsPerRequest: cpu,
    nonOperatorPerOperatorCpu: round((cpu.total - cpu.operators) / cpu.operators, 3),
  };
}

async function main(): Promise<void> {
  const rounds = parseRoundsArg(process.argv.slice(2), 'bench:rounds');
  const startedAt = new Date().toISOString();
  const postgres = await provideTestPostgres({ durable: true });
  console.error(`starting the stack (PostgreSQL: ${postgres.description}; a coordinator process, ${OPERATORS} operators)`);
  const network = await startTestNetwork({
    operatorNames: Array.from({ length: OPERATORS }, (_, i) => `rounds-${i + 1}`),
    coordinatorProcesses: 1,
    policy: { sampleProbability: 0 },
  }).catch(async (error: unknown) => {
    await postgres.stop();
    throw error;
  });
  const meter = networkCpuMeter(network, postgres.pid);
  const results: Round[] = [];
  try {
    await runBatch(network, { userId: await freshUser(network), count: WARMUP, concurrency: 4, maxNewTokens: MAX_NEW_TOKENS, sampleProbability: 0 });
    const batches: Array<{ kind: Round['kind']; count: number; concurrency: number }> = [
      { kind: 'sequential', count: SEQUENTIAL, concurrency: 1 },
      ...Array.from({ length: rounds }, () => ({ kind: 'round' as const, count: PER_ROUND, concurrency: CONCURRENCY })),
    ];
    for (const batch of batches) {
      const point = await throughputPoint(network, OPERATORS, batch.concurrency, batch.count, MAX_NEW_TOKENS, 0, undefined, meter);
      const result = summarize(batch.kind, point);
      results.push(result);
      console.log(JSON.stringify(result));
    }
  } finally {
    await network.stop();
    await postgres.stop();
  }
  const file = writeBenchResults('rounds', startedAt, {
    machine: machineFacts(),
    settings: { operators: OPERATORS, warmup: WARMUP, sequential: SEQUENTIAL, perRound: PER_ROUND, concurrency: CONCURRENCY, maxNewTokens: MAX_NEW_TOKENS },
    results,
  });
  console.error(`results: ${file}`);
}

runBench(main);
