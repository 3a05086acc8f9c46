/**
 * `npm run bench:floor [-- --rounds=N]`: the Temporal floor (bench/temporal-floor.ts) on a private Temporal dev server
 * with the pipeline's configuration, at the load of `npm run bench:rounds`: a warm-up, 20 sequential runs, then N
 * rounds (default 4) of 64 at 16 in flight, each with CPU ms per run per process. `npm run bench` measures the same
 * floor on the pipeline's own server in the same run. Writes bench/results/floor-<timestamp>.json.
 */
import './quiet-logs.js';
import { startTestTemporal } from '../test/helpers/temporal.js';
import { startFloorWorkers, FLOOR_SERVICES, type FloorPoint } from './temporal-floor.js';
import { median, round } from './stats.js';
import { machineFacts } from './machine.js';
import { runBench, writeBenchResults } from './standalone.js';
import { parseRoundsArg } from './options.js';

const WARMUP = 24;
const SEQUENTIAL = 20;
const PER_ROUND = 64;
const CONCURRENCY = 16;


async function main(): Promise<void> {
  const rounds = parseRoundsArg(process.argv.slice(2), 'bench:floor');
  const startedAt = new Date().toISOString();
  console.error('starting a Temporal dev server and two worker processes (the floor workflow, its node activity)');
  const temporal = await startTestTemporal();
  const points: Array<FloorPoint & { kind: 'sequential' | 'round' }> = [];
  try {
    const floor = await startFloorWorkers({ address: temporal.server.address, namespace: temporal.server.namespace, client: temporal.client, serverPid: temporal.serverPid });
    try {
      await floor.measure(WARMUP, 4);
      points.push({ kind: 'sequential', ...(await floor.measure(SEQUENTIAL, 1)) });
      console.log(JSON.stringify(points.at(-1)));
      for (let i = 0; i < rounds; i += 1) {
        points.push({ kind: 'round', ...(await floor.measure(PER_ROUND, CONCURRENCY)) });
        console.log(JSON.stringify(points.at(-1)));
      }
    } finally {
      await floor.stop();
    }
  } finally {
    await temporal.stop();
  }
  const measured = points.filter((p) => p.kind === 'round');
  const summary = {
    sequentialLatencyP50Ms: points[0]!.latencyMs.p50,
    roundsMedian: {
      runsPerSecond: round(median(measured.map((p) => p.runsPerSecond)), 2),
      cpuMsPerRun: Object.fromEntries([...FLOOR_SERVICES, 'total' as const].map((s) => [s, round(median(measured.map((p) => p.cpuMsPerRun[s])), 1)])),
    },
  };
  console.log(JSON.stringify({ summary }));
  const file = writeBenchResults('floor', startedAt, { machine: machineFacts(), settings: { warmup: WARMUP, sequential: SEQUENTIAL, perRound: PER_ROUND, concurrency: CONCURRENCY }, points, summary });
  console.error(`results: ${file}`);
}

runBench(main);
