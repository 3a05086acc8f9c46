/**
 * `npm run bench:operator-endpoint [-- --quick]`: what the operator endpoint adds per dispatch, in one run. Two
 * operator processes on the same stack serve two names of the same model: one through a `parallelix
 * operator-endpoint` process, one straight to Temporal (the benchmark-only PARALLELIX_TEST_DIRECT_TEMPORAL_ADDRESS,
 * refused outside NODE_ENV=test). Sequential requests alternate between the two; reports client latency and the
 * dispatch (05 queue + 06–09 on node, medians) per path, their difference, and the endpoint process's CPU ms per request (its health
 * probe traffic during the run included). Writes bench/results/<time>-operator-endpoint.json.
 */
import './quiet-logs.js';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { InferenceResult, InferenceWorkflowInput } from '../src/protocol/inference.js';
import { COORDINATOR_TASK_QUEUE } from '../src/protocol/task-queues.js';
import { projectRoot } from '../src/shared/paths.js';
import { spawnCli } from '../test/helpers/cli-process.js';
import { modelAlias, startTestNetwork } from '../test/helpers/network.js';
import { provideTestPostgres } from '../test/helpers/test-postgres.js';
import { machineFacts } from './machine.js';
import type { CompletedRequest } from './pipeline.js';
import { processCpuMs } from './proc-cpu.js';
import { promptAt } from './prompts.js';
import { freshUser, stepBreakdown, waitForNodes } from './scenarios.js';
import { distribution, round } from './stats.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 20 : 60;
const WARMUP = 3;
const MAX_NEW_TOKENS = 8;
const started = Date.now();
const progress = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

const testPostgres = await provideTestPostgres({ durable: true });
const network = await startTestNetwork({ policy: { sampleProbability: 0 } });
const endpoint = spawnCli(['operator-endpoint', '--port', '0'], { ...network.cliEnv(), PARALLELIX_LOG_LEVEL: 'warn', PARALLELIX_METRICS_PORT: '0' });
try {
  await endpoint.waitFor(/operator endpoint ready on \S+/);
  const address = /operator endpoint ready on (\S+)/.exec(endpoint.output())![1]!;
  const metricsUrl = /operator endpoint metrics on (\S+)/.exec(endpoint.output())?.[1];
  const via = modelAlias(network.stateRoot, 'bench-via-endpoint');
  const direct = modelAlias(network.stateRoot, 'bench-direct');
  await network.startOperator('via-endpoint', { ...via.env, PARALLELIX_OPERATOR_ENDPOINT: address });
  await network.startOperator('direct', {
    ...direct.env,
    NODE_ENV: 'test',
    PARALLELIX_TEST_DIRECT_TEMPORAL_ADDRESS: network.temporal.server.address,
    PARALLELIX_TEST_DIRECT_TEMPORAL_NAMESPACE: network.temporal.server.namespace,
  });
  await waitForNodes(network, 2);
  progress(`endpoint ${address}; operators ready; ${ROUNDS} rounds of one request per path (${MAX_NEW_TOKENS} new tokens)`);
  const userId = await freshUser(network);

  const run = async (model: string, index: number): Promise<CompletedRequest> => {
    const input: InferenceWorkflowInput = { userId, model, messages: promptAt(index), maxNewTokens: MAX_NEW_TOKENS, sampleProbability: 0 };
    const t0 = performance.now();
    const handle = await network.client.workflow.start('inferenceWorkflow', { taskQueue: COORDINATOR_TASK_QUEUE, workflowId: `bench-ep-${randomUUID()}`, args: [input] });
    const result = (await handle.result()) as InferenceResult;
    return { index, latencyMs: performance.now() - t0, result, handle };
  };
  for (let i = 0; i < WARMUP; i += 1) await Promise.all([run(via.model, i), run(direct.model, i)]);

  const results = { via: [] as CompletedRequest[], direct: [] as CompletedRequest[] };
  const cpuBefore = processCpuMs(endpoint.child.pid!);
  for (let i = 0; i < ROUNDS; i += 1) {
    // Alternating order, so neither path always runs right after the other.
    const order = i % 2 === 0 ? (['via', 'direct'] as const) : (['direct', 'via'] as const);
    for (const which of order) results[which].push(await run(which === 'via' ? via.model : direct.model, i));
  }
  const endpointCpuMs = processCpuMs(endpoint.child.pid!) - cpuBefore;
  const [viaSteps, directSteps] = await Promise.all([stepBreakdown(results.via), stepBreakdown(results.direct)]);
  // The dispatch as history sees it: queue wait (the poll answer passes the endpoint) plus the node's time (its
  // heartbeats and completion pass the endpoint), medians summed.
  const step = (b: typeof viaSteps): number =>
    b.steps.filter((s) => s.step.startsWith('05 Dispatch') || s.step.startsWith('06–09')).reduce((sum, s) => sum + s.medianMs, 0);
  const latency = { via: distribution(results.via.map((r) => r.latencyMs)), direct: distribution(results.direct.map((r) => r.latencyMs)) };
  const report = {
    startedAt: new Date(started).toISOString(),
    mode: quick ? 'quick' : 'full',
    rounds: ROUNDS,
    maxNewTokens: MAX_NEW_TOKENS,
    machine: machineFacts(),
    clientLatencyMs: latency,
    clientLatencyP50AddedMs: round(latency.via.p50 - latency.direct.p50),
    dispatchMedianMs: { via: round(step(viaSteps)), direct: round(step(directSteps)) },
    dispatchMedianAddedMs: round(step(viaSteps) - step(directSteps)),
    endpointCpuMsPerRequest: round(endpointCpuMs / ROUNDS, 2),
    endpointCpuMsTotal: round(endpointCpuMs),
    endpointMetrics: metricsUrl ?? null,
    steps: { via: viaSteps.steps, direct: directSteps.steps },
  };
  if (metricsUrl) {
    const text = await (await fetch(metricsUrl)).text();
    const calls = text.split('\n').filter((l) => l.startsWith('parallelix_operator_endpoint_calls_total') || l.startsWith('parallelix_operator_endpoint_overhead_seconds_sum') || l.startsWith('parallelix_operator_endpoint_overhead_seconds_count'));
    Object.assign(report, { endpointCounters: calls });
  }
  const dir = path.join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date(started).toISOString().replace(/[:.]/g, '-')}-operator-endpoint.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`client latency p50: via endpoint ${round(latency.via.p50)} ms, direct ${round(latency.direct.p50)} ms, added ${report.clientLatencyP50AddedMs} ms`);
  console.log(`dispatch (05 queue + 06–09 on node) median: via ${report.dispatchMedianMs.via} ms, direct ${report.dispatchMedianMs.direct} ms, added ${report.dispatchMedianAddedMs} ms`);
  console.log(`endpoint CPU: ${report.endpointCpuMsPerRequest} ms per request (${report.endpointCpuMsTotal} ms over ${ROUNDS} requests, health probes included)`);
  console.log(`results: ${file}`);
} finally {
  if (endpoint.child.exitCode === null) endpoint.child.kill('SIGINT');
  await endpoint.exited;
  await network.stop();
  await testPostgres.stop();
}
process.exit(0);
