import type { TestNetwork } from '../test/helpers/network.js';
import { stepTimes, STEP_ORDER, type StepTimes } from './history-steps.js';
import { cpuPerRequest, type CpuMeter, type CpuPerRequest } from './network-cpu.js';
import { runBatch, type BatchResult, type CompletedRequest } from './pipeline.js';
import { distribution, median, mean, type Distribution } from './stats.js';

export interface ThroughputPoint {
  nodes: number;
  concurrency: number;
  /** Submitted requests; completed = requests − rejected. */
  requests: number;
  completed: number;
  rejected: number;
  wallMs: number;
  /** Completed requests per second. */
  requestsPerSecond: number;
  outputTokensPerSecond: number;
  latencyMs: Distribution;
  /** Requests that step 11 sampled. */
  sampled?: number;
  /** CPU ms per completed request per process (bench/network-cpu.ts), when measured. */
  cpuMsPerRequest?: CpuPerRequest;
}

/** One point from several batches of the same setting: counts and wall times add up; `latencies` are all of theirs. */
export function mergeThroughput(points: ThroughputPoint[], latencies: number[]): ThroughputPoint {
  const first = points[0]!;
  const sum = (pick: (p: ThroughputPoint) => number): number => points.reduce((a, p) => a + pick(p), 0);
  const wallMs = sum((p) => p.wallMs);
  const completed = sum((p) => p.completed);
  return {
    nodes: first.nodes,
    concurrency: first.concurrency,
    requests: sum((p) => p.requests),
    completed,
    rejected: sum((p) => p.rejected),
    wallMs,
    requestsPerSecond: completed / (wallMs / 1000),
    outputTokensPerSecond: sum((p) => p.outputTokensPerSecond * p.wallMs) / wallMs,
    latencyMs: distribution(latencies),
    sampled: sum((p) => p.sampled ?? 0),
    ...mergedCpu(points, completed),
  };
}

/** Per-request CPU of several batches: each batch's total (per request × completed) added up, over all completed. */
function mergedCpu(points: ThroughputPoint[], completed: number): { cpuMsPerRequest?: CpuPerRequest } {
  if (!points.every((p) => p.cpuMsPerRequest)) return {};
  const totals: Record<string, number> = {};
  for (const p of points) for (const [k, v] of Object.entries(p.cpuMsPerRequest!)) if (k !== 'total') totals[k] = (totals[k] ?? 0) + v * p.completed;
  return { cpuMsPerRequest: cpuPerRequest({}, totals, completed) };
}

export interface StepBreakdown {
  requests: number;
  /** Per label: median and mean over the requests that had the step, ms. */
  steps: Array<{ step: string; medianMs: number; meanMs: number; seenIn: number }>;
  workflowMs: Distribution;
  /** Client latency minus WorkflowExecutionStarted→Completed: start RPC, result long-poll, codec. */
  clientOverheadMs: Distribution;
}

let userSeq = 0;

/** A funded, fresh user per batch (so credit holds of one batch never queue behind another's). */
export async function freshUser(network: TestNetwork): Promise<string> {
  userSeq += 1;
  const userId = `bench-user-${process.pid}-${userSeq}`;
  await network.fund(userId, 100_000_000);
  return userId;
}

export async function throughputPoint(
  network: TestNetwork,
  nodes: number,
  concurrency: number,
  requests: number,
  maxNewTokens: number,
  sampleProbability = 0,
  /** Receives each completed request's latency (to merge batches). */
  latenciesOut?: number[],
  meter?: CpuMeter,
): Promise<ThroughputPoint> {
  const cpuFrom = await meter?.read();
  const batch = await runBatch(network, { userId: await freshUser(network), count: requests, concurrency, maxNewTokens, sampleProbability, promptOffset: concurrency, allowRejections: true });
  const tokens = batch.requests.reduce((sum, r) => sum + r.result.usage.outputTokens, 0);
  latenciesOut?.push(...batch.requests.map((r) => r.latencyMs));
  return {
    nodes,
    concurrency,
    requests,
    completed: batch.requests.length,
    rejected: batch.rejected,
    wallMs: batch.wallMs,
    requestsPerSecond: batch.requests.length / (batch.wallMs / 1000),
    outputTokensPerSecond: tokens / (batch.wallMs / 1000),
    latencyMs: distribution(batch.requests.map((r) => r.latencyMs)),
    sampled: batch.requests.filter((r) => r.result.sampled).length,
    ...(meter && cpuFrom ? { cpuMsPerRequest: cpuPerRequest(cpuFrom, await meter.read(), batch.requests.length) } : {}),
  };
}

export async function stepBreakdown(requests: CompletedRequest[]): Promise<StepBreakdown> {
  const perRequest: StepTimes[] = [];
  const workflowMs: number[] = [];
  const clientOverhead: number[] = [];
  for (const r of requests) {
    const timing = await stepTimes(r.handle);
    perRequest.push(timing.steps);
    workflowMs.push(timing.workflowMs);
    clientOverhead.push(r.latencyMs - timing.workflowMs);
  }
  const labels = new Set(perRequest.flatMap((s) => Object.keys(s)));
  const ordered = [...STEP_ORDER.filter((l) => labels.has(l)), ...[...labels].filter((l) => !(STEP_ORDER as readonly string[]).includes(l))];
  return {
    requests: requests.length,
    steps: ordered.map((step) => {
      const values = perRequest.map((s) => s[step]).filter((v): v is number => v !== undefined);
      return { step, medianMs: median(values), meanMs: mean(values), seenIn: values.length };
    }),
    workflowMs: distribution(workflowMs),
    clientOverheadMs: distribution(clientOverhead),
  };
}

export function latencies(batch: BatchResult): number[] {
  return batch.requests.map((r) => r.latencyMs);
}

/** Waits until the coordinator has registered `count` active nodes (registration is its own workflow). */
export async function waitForNodes(network: TestNetwork, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await network.db.node.count({ where: { status: 'ACTIVE' } })) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`only ${await network.db.node.count({ where: { status: 'ACTIVE' } })} of ${count} nodes registered within ${timeoutMs} ms`);
}
