/**
 * `npm run bench [-- --quick]`: raw engine vs the fourteen-step pipeline on an embedded local stack (private
 * Temporal dev server, test PostgreSQL database, anvil, in-process coordinator, real operator processes).
 * Writes bench/results/<timestamp>.json and .svg and prints a table. Exits non-zero on any failure.
 */
import './quiet-logs.js';
import { startTestNetwork, type TestNetwork } from '../test/helpers/network.js';
import { provideTestPostgres } from '../test/helpers/test-postgres.js';
import { readTransactions, roundTripsPerRequest, STATS_FLUSH_MS } from './db-counters.js';
import { gasPerAnchoredRecord } from './gas.js';
import { machineFacts } from './machine.js';
import { idleCpuPerSecond, measureCpu, networkCpuMeter } from './network-cpu.js';
import { parseOptions } from './options.js';
import { runBatch } from './pipeline.js';
import { benchRawEngine } from './raw-engine.js';
import { benchSamplingQuality } from './sampling-quality.js';
import { DEFAULT_TOLERANT_THRESHOLDS } from '../src/sampling/tolerant-check.js';
import { printReport, samplingTable, writeReport, writeSamplingReport, type BenchReport } from './report.js';
import { freshUser, latencies, mergeThroughput, stepBreakdown, throughputPoint, waitForNodes, type ThroughputPoint } from './scenarios.js';
import { distribution } from './stats.js';
import { runBench } from './standalone.js';
import { startFloorWorkers } from './temporal-floor.js';

const started = Date.now();
const progress = (msg: string): void => {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function scaleTo(network: TestNetwork, nodes: number): Promise<void> {
  for (let i = network.operators.size; i < nodes; i += 1) {
    await network.startOperator(`bench-${i + 1}`);
    progress(`operator bench-${i + 1} ready`);
  }
  await waitForNodes(network, nodes);
}

async function warmUp(network: TestNetwork, requests: number, maxNewTokens: number): Promise<void> {
  // Enough in flight at once that every node loads its kernels and the workflow bundle is hot.
  await runBatch(network, { userId: await freshUser(network), count: requests, concurrency: Math.max(1, network.operators.size), maxNewTokens, sampleProbability: 0 });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date(started).toISOString();
  if (options.samplingOnly) {
    progress(`mode ${options.mode}, sampling only: step 11 tolerant check on the engine`);
    const samplingQuality = await benchSamplingQuality({ thresholds: DEFAULT_TOLERANT_THRESHOLDS, maxNewTokens: options.maxNewTokens, ...options.samplingQuality, progress });
    const report = { startedAt, finishedAt: new Date().toISOString(), durationSeconds: (Date.now() - started) / 1000, mode: options.mode, options, machine: machineFacts(), samplingQuality };
    console.log(samplingTable(samplingQuality));
    console.log(`\nresults: ${writeSamplingReport(report)}`);
    return;
  }
  progress(`mode ${options.mode}: raw engine first (no stack running yet)`);
  const rawEngine = await benchRawEngine({ maxNewTokens: options.maxNewTokens, repeats: options.rawRepeats, progress });
  progress(`raw engine p50 ${rawEngine.latencyMs.p50.toFixed(0)} ms, ${rawEngine.tokensPerSecond.p50.toFixed(0)} tok/s`);
  progress(options.stackOnly ? 'step 11 tolerant check on the engine: skipped (--stack-only)' : 'step 11 tolerant check on the engine: honest pairs, dishonest strategies, cost');
  const samplingQuality = options.stackOnly
    ? null
    : await benchSamplingQuality({
        thresholds: DEFAULT_TOLERANT_THRESHOLDS,
        maxNewTokens: options.maxNewTokens,
        ...options.samplingQuality,
        progress,
      });

  const testPostgres = await provideTestPostgres({ durable: true });
  progress(`PostgreSQL: ${testPostgres.description}`);
  progress('starting the local stack (Temporal dev server, PostgreSQL database, anvil, a coordinator process, 1 operator)');
  // The coordinator runs as its own process (as `parallelix start` runs it), so its CPU is measured apart from the client's.
  if (options.cpuProfileDir) progress(`CPU profiles of the coordinator and operator processes: ${options.cpuProfileDir} (written as each process exits)`);
  const network = await startTestNetwork({
    policy: { sampleProbability: 0 },
    operatorNames: ['bench-1'],
    coordinatorProcesses: 1,
    ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
  }).catch(async (error: unknown) => {
    await testPostgres.stop();
    throw error;
  });
  const meter = networkCpuMeter(network, testPostgres.pid);
  try {
    await waitForNodes(network, 1);
    const throughput: ThroughputPoint[] = [];
    const [firstNodes, ...moreNodes] = options.nodeCounts;
    const latencyNodes = Math.min(3, Math.max(...options.nodeCounts));

    const measureThroughput = async (nodes: number): Promise<void> => {
      for (const concurrency of options.concurrencies) {
        const count = Math.max(options.throughputMinRequests, options.throughputPerSlot * concurrency);
        const point = await throughputPoint(network, nodes, concurrency, count, options.maxNewTokens, 0, undefined, meter);
        throughput.push(point);
        progress(`throughput ${nodes} node(s) c=${concurrency}: ${point.requestsPerSecond.toFixed(2)} completed/s (${point.completed}/${count} done, ${point.rejected} shed)`);
      }
    };

    await warmUp(network, options.warmupRequests, options.maxNewTokens);
    progress('warm-up done');
    const idleCpuMsPerSecond = await idleCpuPerSecond(meter, options.idleWindowMs);
    progress(`idle CPU ms/s: ${Object.entries(idleCpuMsPerSecond).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    await measureThroughput(firstNodes!);

    await scaleTo(network, latencyNodes);
    await warmUp(network, options.warmupRequests * latencyNodes, options.maxNewTokens);
    progress(`scaled to ${latencyNodes} nodes and warmed up`);

    // Latency, one request in flight; the same batch gives DB round trips and the per-step breakdown.
    await sleep(STATS_FLUSH_MS); // let the warm-up's counters reach pg_stat_database first
    const busyFrom = await readTransactions(network.database.name);
    progress(`latency: ${options.latencyRequests} sequential requests, p=0`);
    const latencyUser = await freshUser(network);
    const { value: p0, cpuMsPerRequest: latencyCpu } = await measureCpu(
      meter,
      () => runBatch(network, { userId: latencyUser, count: options.latencyRequests, concurrency: 1, maxNewTokens: options.maxNewTokens, sampleProbability: 0 }),
      (batch) => batch.requests.length,
    );
    await sleep(STATS_FLUSH_MS);
    const busyTo = await readTransactions(network.database.name);
    await sleep(STATS_FLUSH_MS);
    const idleTo = await readTransactions(network.database.name);
    const database = roundTripsPerRequest({ from: busyFrom, to: busyTo }, { from: busyTo, to: idleTo }, p0.requests.length);
    const e2e = distribution(latencies(p0));
    progress(`latency p50 ${e2e.p50.toFixed(0)} ms, CPU ${latencyCpu.total} ms/request; DB ≈ ${database.transactionsPerRequest.toFixed(1)} transactions/request`);

    const sampling: BenchReport['sampling'] = [{ sampleProbability: 0, mode: 'tolerant', requests: p0.requests.length, sampledRequests: 0, e2eMs: e2e }];
    const p1Batches = [];
    for (const [p, mode] of [[0.1, 'tolerant'], [1, 'tolerant'], [1, 'exact']] as const) {
      const batch = await runBatch(network, { userId: await freshUser(network), count: options.samplingRequests, concurrency: 1, maxNewTokens: options.maxNewTokens, sampleProbability: p, sampleMode: mode });
      const sampled = batch.requests.filter((r) => r.result.sampled).length;
      sampling.push({ sampleProbability: p, mode, requests: batch.requests.length, sampledRequests: sampled, e2eMs: distribution(latencies(batch)) });
      if (p === 1 && mode === 'tolerant') p1Batches.push(batch);
      progress(`sampling p=${p} ${mode}: p50 ${distribution(latencies(batch)).p50.toFixed(0)} ms, ${sampled}/${batch.requests.length} sampled`);
    }
    const p1 = p1Batches[0]!;

    // Throughput with and without sampling on the same nodes and concurrency, in alternating rounds so that a change
    // in the machine's load hits both alike.
    const throughputConcurrency = latencyNodes;
    const rounds = 4;
    const perRound = Math.max(throughputConcurrency, Math.ceil(options.samplingThroughputRequests / rounds));
    const parts: Record<'p0' | 'p01', ThroughputPoint[]> = { p0: [], p01: [] };
    const lat: Record<'p0' | 'p01', number[]> = { p0: [], p01: [] };
    for (let round = 0; round < rounds; round += 1) {
      parts.p0.push(await throughputPoint(network, latencyNodes, throughputConcurrency, perRound, options.maxNewTokens, 0, lat.p0, meter));
      parts.p01.push(await throughputPoint(network, latencyNodes, throughputConcurrency, perRound, options.maxNewTokens, 0.1, lat.p01, meter));
    }
    const tp0 = mergeThroughput(parts.p0, lat.p0);
    const tp01 = mergeThroughput(parts.p01, lat.p01);
    const p0Latency = e2e.p50;
    const p1Tolerant = sampling.find((x) => x.sampleProbability === 1 && x.mode === 'tolerant')!.e2eMs.p50;
    const samplingThroughput = {
      p0: tp0,
      p01: tp01,
      costRatio: tp0.requestsPerSecond / tp01.requestsPerSecond,
      sampledRequests: tp01.sampled ?? 0,
      // What p = 0.1 costs by the latencies above: one request in ten pays the tolerant check's extra time.
      estimatedCostRatio: 1 + 0.1 * (p1Tolerant - p0Latency) / p0Latency,
    };
    progress(`throughput p=0 ${tp0.requestsPerSecond.toFixed(2)}/s vs p=0.1 ${tp01.requestsPerSecond.toFixed(2)}/s (${samplingThroughput.costRatio.toFixed(3)}x measured, ${samplingThroughput.estimatedCostRatio.toFixed(3)}x from latencies)`);

    progress('per-step breakdown from workflow histories');
    const steps = { p0: await stepBreakdown(p0.requests), p1: await stepBreakdown(p1.requests) };

    progress('gas from anchoring receipts');
    const gas = await gasPerAnchoredRecord(network.anvil.rpcUrl, network.anvil.chainId, [...p0.requests, ...p1.requests].map((r) => r.result));

    for (const nodes of moreNodes) {
      await scaleTo(network, nodes);
      if (nodes !== latencyNodes) await warmUp(network, options.warmupRequests * nodes, options.maxNewTokens);
      await measureThroughput(nodes);
    }

    progress('Temporal floor: the same workflow shape with no work inside, on this Temporal server');
    const temporalFloor = await measureTemporalFloor(network, options.latencyRequests);

    const report: BenchReport = {
      startedAt,
      finishedAt: new Date().toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      mode: options.mode,
      options,
      machine: machineFacts(),
      rawEngine,
      latency: {
        nodes: latencyNodes,
        sampleProbability: 0,
        e2eMs: e2e,
        overheadRatioP50: e2e.p50 / rawEngine.latencyMs.p50,
        overheadMsP50: e2e.p50 - rawEngine.latencyMs.p50,
        cpuMsPerRequest: latencyCpu,
      },
      idleCpuMsPerSecond,
      throughput,
      steps: {
        ...steps,
        note:
          'Local-activity steps: differences of consecutive complete_time values in the core_local_activity markers (first one from the workflow task start): core advances them by each local activity\'s own run plus ~1 ms of hand-off. 06–09 are one activity on the node (start→complete). "workflow tasks: code, hand-offs, completion" is the rest of every workflow task, summed (its delivery to the worker, each workflow activation, the completion\'s round trip): the gap from the last local activity\'s complete_time to WorkflowTaskCompleted; "dispatch result → workflow task" is ActivityTaskCompleted → WorkflowTaskStarted. Client overhead = client-observed latency − workflow start→complete.',
      },
      sampling,
      ...(samplingQuality ? { samplingQuality } : {}),
      samplingThroughput,
      gasPerAnchoredRecord: gas,
      database,
      temporalFloor,
    };
    printReport(report);
    const files = writeReport(report);
    console.log(`\nresults: ${files.json}\nchart:   ${files.svg}`);
  } finally {
    progress('stopping the local stack');
    await network.stop();
    await testPostgres.stop();
  }
}

/** The Temporal floor (bench/temporal-floor.ts) on the network's own server: one run in flight, then 128 at 16. */
async function measureTemporalFloor(network: TestNetwork, sequentialRuns: number): Promise<BenchReport['temporalFloor']> {
  const { server, client, serverPid } = network.temporal;
  const floor = await startFloorWorkers({ address: server.address, namespace: server.namespace, client, serverPid });
  try {
    await floor.measure(24, 4);
    return { sequential: await floor.measure(sequentialRuns, 1), loaded: await floor.measure(128, 16) };
  } finally {
    await floor.stop();
  }
}

runBench(main);
