import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/shared/paths.js';
import { renderChart } from './chart.js';
import type { DbRoundTrips } from './db-counters.js';
import type { GasByVerdict } from './gas.js';
import type { MachineFacts } from './machine.js';
import { CPU_SERVICES, type CpuPerRequest, type CpuService } from './network-cpu.js';
import type { BenchOptions } from './options.js';
import type { RawEngineResult } from './raw-engine.js';
import type { SamplingQualityResult } from './sampling-quality.js';
import type { StepBreakdown, ThroughputPoint } from './scenarios.js';
import { FLOOR_SERVICES, type FloorPoint } from './temporal-floor.js';
import type { Distribution } from './stats.js';
import { formatTable } from './table.js';

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  mode: BenchOptions['mode'];
  options: BenchOptions;
  machine: MachineFacts;
  rawEngine: RawEngineResult;
  latency: {
    nodes: number;
    sampleProbability: 0;
    e2eMs: Distribution;
    overheadRatioP50: number;
    overheadMsP50: number;
    /** CPU ms per completed request per process over the sequential latency batch. */
    cpuMsPerRequest: CpuPerRequest;
  };
  /** CPU ms per second each process spends with no request in flight (measured after the warm-up). */
  idleCpuMsPerSecond: Record<CpuService, number>;
  throughput: ThroughputPoint[];
  steps: { p0: StepBreakdown; p1: StepBreakdown; note: string };
  sampling: Array<{ sampleProbability: number; mode: 'exact' | 'tolerant'; requests: number; sampledRequests: number; e2eMs: Distribution }>;
  /** Step 11's tolerant check on the engine: false positives, detection, cost (bench/sampling-quality.ts). */
  samplingQuality?: SamplingQualityResult;
  /** Throughput at p = 0 and p = 0.1 (tolerant), same nodes and concurrency, back to back. */
  samplingThroughput: { p0: ThroughputPoint; p01: ThroughputPoint; costRatio: number; sampledRequests: number; estimatedCostRatio: number };
  gasPerAnchoredRecord: GasByVerdict[];
  database: DbRoundTrips;
  /** The same workflow shape with no work inside, on the same server (bench/temporal-floor.ts): one run in flight, then loaded. */
  temporalFloor: { sequential: FloorPoint; loaded: FloorPoint };
}

export function printReport(report: BenchReport): string {
  const out: string[] = [];
  const r = report.rawEngine;
  out.push(`\nParalleliX bench (${report.mode}) — ${r.model} ${r.dtype} on ${r.device}, maxNewTokens ${report.options.maxNewTokens}, ${report.machine.cpus} CPUs, node ${report.machine.node}, commit ${report.machine.gitCommit?.slice(0, 10) ?? '?'}\n`);
  out.push(
    formatTable(
      ['Latency (ms)', 'n', 'p50', 'p95', 'p99', 'tok/s p50'],
      [
        ['raw engine (in process)', r.latencyMs.n, r.latencyMs.p50, r.latencyMs.p95, r.latencyMs.p99, r.tokensPerSecond.p50],
        [`pipeline e2e, p=0, ${report.latency.nodes} nodes`, report.latency.e2eMs.n, report.latency.e2eMs.p50, report.latency.e2eMs.p95, report.latency.e2eMs.p99, ''],
        ...report.sampling.filter((s) => s.sampleProbability > 0).map((s) => [`pipeline e2e, p=${s.sampleProbability} ${s.mode} (${s.sampledRequests} sampled)`, s.e2eMs.n, s.e2eMs.p50, s.e2eMs.p95, s.e2eMs.p99, ''] as Array<string | number>),
      ],
    ),
  );
  out.push(`overhead ratio pipeline p50 / raw p50 = ${report.latency.overheadRatioP50.toFixed(2)}x (+${report.latency.overheadMsP50.toFixed(0)} ms)\n`);
  out.push(
    formatTable(
      ['Throughput', 'sent', 'done', 'shed', 'done/s', 'out tok/s', 'lat p50', 'lat p95'],
      report.throughput.map((t) => [`${t.nodes} node(s) × c=${t.concurrency}`, t.requests, t.completed, t.rejected, t.requestsPerSecond, t.outputTokensPerSecond, t.latencyMs.p50, t.latencyMs.p95]),
    ),
  );
  out.push('');
  out.push(cpuSection(report));
  out.push('');
  out.push(floorSection(report));
  out.push('');
  out.push(samplingSection(report));
  out.push('');
  const p1 = new Map(report.steps.p1.steps.map((s) => [s.step, s.medianMs]));
  const labels = [...new Set([...report.steps.p0.steps.map((s) => s.step), ...p1.keys()])];
  const p0 = new Map(report.steps.p0.steps.map((s) => [s.step, s.medianMs]));
  out.push(
    formatTable(
      ['Per-step median (ms, from history)', 'p=0', 'p=1'],
      [
        ...labels.map((l) => [l, p0.get(l) ?? Number.NaN, p1.get(l) ?? Number.NaN]),
        ['= workflow start→complete (p50)', report.steps.p0.workflowMs.p50, report.steps.p1.workflowMs.p50],
        ['client overhead (p50)', report.steps.p0.clientOverheadMs.p50, report.steps.p1.clientOverheadMs.p50],
      ],
    ),
  );
  out.push('');
  out.push(formatTable(['Gas per anchored record', 'records', 'p50', 'min', 'max'], report.gasPerAnchoredRecord.map((g) => [g.verdict, g.anchored, g.gasUsed.p50, g.gasUsed.min, g.gasUsed.max])));
  out.push('');
  const d = report.database;
  out.push(
    `DB transactions per request ≈ ${d.transactionsPerRequest.toFixed(1)} (${d.rawTransactions} in ${d.windowSeconds.toFixed(1)} s for ${d.requests} requests, idle background ${d.backgroundPerSecond.toFixed(1)}/s subtracted; pg_stat_database xact_commit+xact_rollback)`,
  );
  const text = out.join('\n');
  console.log(text);
  return text;
}

/** CPU ms per completed request, per process, for every measured batch (all CPU in the window, idle included). */
function cpuSection(report: BenchReport): string {
  const row = (label: string, cpu: CpuPerRequest | undefined): Array<string | number> => [label, ...CPU_SERVICES.map((s) => cpu?.[s] ?? Number.NaN), cpu?.total ?? Number.NaN];
  const th = report.samplingThroughput;
  const table = formatTable(
    ['CPU ms per completed request', ...CPU_SERVICES, 'total'],
    [
      row(`latency, ${report.latency.nodes} nodes × c=1, p=0`, report.latency.cpuMsPerRequest),
      ...report.throughput.map((t) => row(`throughput ${t.nodes} node(s) × c=${t.concurrency}, p=0`, t.cpuMsPerRequest)),
      row(`throughput ${th.p0.nodes} nodes × c=${th.p0.concurrency}, p=0 (4 rounds)`, th.p0.cpuMsPerRequest),
      row(`throughput ${th.p01.nodes} nodes × c=${th.p01.concurrency}, p=0.1 (4 rounds)`, th.p01.cpuMsPerRequest),
      ['idle, CPU ms per second', ...CPU_SERVICES.map((s) => report.idleCpuMsPerSecond[s]), CPU_SERVICES.reduce((sum, s) => sum + report.idleCpuMsPerSecond[s], 0)],
    ],
  );
  return `${table}\nraw engine CPU per generation (this process, same prompts): ${report.rawEngine.cpuMsPerGeneration.toFixed(1)} ms; client = this bench process (starts runs, awaits results); from /proc utime+stime of each process tree`;
}

/** The Temporal floor beside the pipeline's best throughput point: what the shape costs, what ParalleliX's work adds. */
function floorSection(report: BenchReport): string {
  const { sequential, loaded } = report.temporalFloor;
  const row = (label: string, p: FloorPoint): Array<string | number> => [label, p.runs, p.runsPerSecond, p.latencyMs.p50, ...FLOOR_SERVICES.map((s) => p.cpuMsPerRun[s]), p.cpuMsPerRun.total, p.runsPerCoreSecond];
  const table = formatTable(
    ['Temporal floor (same shape, no work, same server)', 'runs', 'runs/s', 'lat p50', ...FLOOR_SERVICES, 'total', 'runs/core/s'],
    [row('one run in flight', sequential), row(`c=${loaded.concurrency}`, loaded)],
  );
  const best = report.throughput.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  const cpu = best.cpuMsPerRequest;
  if (!cpu) return table;
  const generation = report.rawEngine.cpuMsPerGeneration;
  const own = cpu.total - loaded.cpuMsPerRun.total - generation;
  const e2e = report.latency.e2eMs.p50;
  const engine = report.rawEngine.latencyMs.p50;
  return [
    table,
    `one request in flight: pipeline p50 ${e2e.toFixed(0)} ms = floor ${sequential.latencyMs.p50.toFixed(0)} + raw engine ${engine.toFixed(0)} + ParalleliX's own work ${(e2e - sequential.latencyMs.p50 - engine).toFixed(0)} ms`,
    `best pipeline point (${best.nodes} node(s) × c=${best.concurrency}): ${best.requestsPerSecond.toFixed(1)} req/s, ${cpu.total.toFixed(0)} ms CPU/request = floor ${loaded.cpuMsPerRun.total.toFixed(0)} + generation ${generation.toFixed(0)} + ParalleliX's own work ${own.toFixed(0)} (crypto, database, chain, codec, search attributes, operator endpoint); ${(1000 / cpu.total).toFixed(1)} req/s per core; ${report.machine.cpus} cores at floor + generation alone: ${((report.machine.cpus * 1000) / (loaded.cpuMsPerRun.total + generation)).toFixed(0)} req/s`,
  ].join('\n');
}

function samplingSection(report: BenchReport): string {
  const th = report.samplingThroughput;
  return [
    report.samplingQuality ? samplingTable(report.samplingQuality) : 'step 11 tolerant check on the engine: not run (--stack-only)',
    `throughput ${th.p0.nodes} nodes × c=${th.p0.concurrency}, ${th.p0.completed} + ${th.p01.completed} requests in 4 alternating rounds: p=0 ${th.p0.requestsPerSecond.toFixed(2)}/s, p=0.1 tolerant ${th.p01.requestsPerSecond.toFixed(2)}/s (${th.sampledRequests} sampled) → cost ${th.costRatio.toFixed(3)}x measured; ${th.estimatedCostRatio.toFixed(3)}x from the p=0 and p=1 tolerant latencies`,
  ].join('\n');
}

/** `npm run bench -- --sampling-only`: the engine-level sampling results alone, as bench/results/<time>-sampling.json. */
export function writeSamplingReport(report: { startedAt: string; samplingQuality: SamplingQualityResult } & Record<string, unknown>): string {
  const dir = path.join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, '-')}-sampling.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}

export function samplingTable(q: SamplingQualityResult): string {
  const t = q.thresholds;
  const out: string[] = [];
  out.push(`Step 11, tolerant check (${q.model} ${q.dtype}/${q.device}, ${q.maxNewTokens} new tokens; tolerance ${t.tolerance} σ, top-k ${t.topK}, max fail share ${t.maxFailShare}, max fail run ${t.maxFailRun}, max gap ${t.maxGap} σ)`);
  out.push(
    formatTable(
      ['Honest pairs (node_i perturbed, node_j reference)', 'pairs', 'texts differ', 'flagged', 'FP rate', 'max gap p50', 'max gap max'],
      q.honest.map((h) => [h.perturbation === 0 ? 'same device (0 σ)' : `${h.perturbation} σ logit noise`, h.pairs, h.textsDiffer, h.flagged, h.falsePositiveRate, h.maxGap.p50, h.maxGap.max]),
    ),
  );
  out.push('');
  out.push(formatTable(['Dishonest strategy', 'claims', 'caught', 'detection'], q.dishonest.map((d) => [d.strategy, d.claims, d.caught, d.detectionRate])));
  out.push(`re-tokenising the decoded text changes the token ids of ${q.retokenisation.differ}/${q.retokenisation.answers} answers (so claims carry their ids)`);
  out.push('');
  out.push(
    formatTable(
      ['Cost (one process, same prompts)', 'generate ms', 'verify ms', 'ratio', 'gen CPU ms', 'verify CPU ms', 'CPU ratio'],
      q.cost.map((c) => [`${c.newTokens} new tokens (${c.samples} samples)`, c.generationMs, c.verificationMs, c.ratio, c.generationCpuMs, c.verificationCpuMs, c.verificationCpuMs / c.generationCpuMs]),
    ),
  );
  return out.join('\n');
}

export function writeReport(report: BenchReport): { json: string; svg: string } {
  const dir = path.join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = path.join(dir, `${stamp}.json`);
  const svg = path.join(dir, `${stamp}.svg`);
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(
    svg,
    renderChart(
      `ParalleliX bench (${report.mode}) — ${report.startedAt}`,
      `${report.rawEngine.model} ${report.rawEngine.dtype}/${report.rawEngine.device}, maxNewTokens ${report.options.maxNewTokens}, ${report.machine.cpus} CPUs, ${report.machine.cpuModel}`,
      [
        {
          title: 'Latency p50',
          unit: 'ms',
          bars: [
            { label: 'raw engine', value: report.rawEngine.latencyMs.p50 },
            { label: `pipeline p=0 (${report.latency.nodes} nodes)`, value: report.latency.e2eMs.p50 },
            ...report.sampling.filter((s) => s.sampleProbability > 0).map((s) => ({ label: `pipeline p=${s.sampleProbability} ${s.mode}`, value: s.e2eMs.p50 })),
          ],
        },
        { title: 'Per-step median, p=0 (from workflow history)', unit: 'ms', bars: report.steps.p0.steps.map((s) => ({ label: s.step, value: s.medianMs })) },
        {
          title: 'Throughput',
          unit: 'completed requests/s',
          bars: report.throughput.map((t) => ({ label: `${t.nodes} node(s), concurrency ${t.concurrency}`, value: t.requestsPerSecond })),
        },
      ],
    ),
  );
  return { json, svg };
}
