/**
 * Issue 13, "Measure" (GPU part): the same prompts on two devices (default WebGPU and CPU) through the operator's
 * own engine (src/inference/engine.ts, transformers.js on onnxruntime-node), greedy decoding on both; how often the
 * texts differ and where they first diverge; then step 11's tolerant check both ways (each device scores the other's
 * claim in one teacher-forced pass, judged with the coordinator's thresholds from the environment, i.e. the defaults
 * unless PARALLELIX_SAMPLE_* are set) plus each device scoring its own claim; generation and scoring speed per device.
 *
 *   npx tsx bench/webgpu-vs-cpu.ts [--a webgpu] [--b cpu] [--prompts 200] [--lengths 32,128] [--budget-s 180]
 *                                  [--model-path DIR] [--model NAME] [--out result.json]
 *
 * --budget-s bounds the measuring loop (a lent GPU machine is time-limited): no new prompt starts after it, and the
 * result says how many prompts were done. Exit codes: 0 measured; 3 a device could not load the model (the JSON
 * still says why, e.g. no WebGPU adapter); 2 bad arguments.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadCoordinatorPolicy } from '../src/policy/coordinator-policy.js';
import { createInferenceEngine, defaultModelPath, type ChatMessage, type InferenceDevice, type InferenceEngine } from '../src/inference/engine.js';
import { judgeClaim, type ClaimFailure, type TolerantThresholds, type TolerantVerdict } from '../src/sampling/tolerant-check.js';
import { distinctPrompts } from './prompts.js';
import { distribution, median, type Distribution } from './stats.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function deviceArg(name: string, fallback: InferenceDevice): InferenceDevice {
  const value = arg(name, fallback);
  if (value !== 'webgpu' && value !== 'cpu') usage(`--${name} must be webgpu or cpu`);
  return value as InferenceDevice;
}

function usage(message: string): never {
  console.error(`webgpu-vs-cpu: ${message}`);
  process.exit(2);
}

const deviceA = deviceArg('a', 'webgpu');
const deviceB = deviceArg('b', 'cpu');
const promptCount = Number(arg('prompts', '200'));
const lengths = arg('lengths', '32,128').split(',').map(Number);
const budgetMs = Number(arg('budget-s', '180')) * 1000;
const modelPath = arg('model-path', defaultModelPath());
const modelName = arg('model', 'tiny-random-LlamaForCausalLM-fp16');
const out = arg('out', '');
if (!Number.isInteger(promptCount) || promptCount < 1) usage('--prompts must be a positive integer');
if (lengths.some((n) => !Number.isInteger(n) || n < 1)) usage('--lengths must be positive integers');
if (!(budgetMs > 0)) usage('--budget-s must be positive');

/** Side names, so a cpu-vs-cpu dry run still tells its two engines apart. */
const A = `${deviceA}(a)`;
const B = `${deviceB}(b)`;

const thresholds: TolerantThresholds = loadCoordinatorPolicy(process.env).pipeline.tolerantThresholds;
const log = (msg: string): void => console.log(`[${new Date().toISOString()}] ${msg}`);
const quiet = { info: () => undefined, warn: () => undefined };

function engineOn(device: InferenceDevice): InferenceEngine {
  // As an operator configures it (src/operator/operator.ts): onnxruntime's default thread count, one request at a time.
  return createInferenceEngine({
    model: modelName,
    dtype: 'fp16',
    device,
    localModelPath: modelPath,
    maxContextTokens: 2048,
    maxNewTokensLimit: Math.max(...lengths),
    concurrency: 1,
    logger: quiet,
  });
}

interface LoadOutcome {
  side: string;
  ok: boolean;
  device?: InferenceDevice;
  reason?: string;
  loadMs?: number;
  engine?: string;
  error?: { message: string; details?: string; cause?: string };
}

async function load(engine: InferenceEngine, side: string): Promise<LoadOutcome> {
  try {
    const loadMs = await engine.load();
    const info = engine.info();
    log(`${side}: loaded on ${info.device} (${info.deviceReason}) in ${loadMs} ms, ${info.engine}`);
    return { side, ok: true, device: info.device, reason: info.deviceReason, loadMs, engine: info.engine };
  } catch (error) {
    const e = error as Error & { details?: string; cause?: unknown };
    const cause = e.cause instanceof Error ? e.cause.message : e.cause === undefined ? undefined : String(e.cause);
    log(`${side}: load failed: ${e.message}${e.details ? ` (${e.details})` : ''}`);
    return { side, ok: false, error: { message: e.message, ...(e.details ? { details: e.details } : {}), ...(cause ? { cause } : {}) } };
  }
}

interface Claim {
  ids: number[];
  text: string;
  ms: number;
}

interface Judged {
  verdict: TolerantVerdict;
  ms: number;
}

async function judge(scorer: InferenceEngine, messages: ChatMessage[], claim: Claim, maxNewTokens: number): Promise<Judged> {
  const scored = await scorer.scoreTokens({ messages, tokenIds: claim.ids });
  const verdict = judgeClaim(
    { positions: claim.ids.length, textMatches: scored.text === claim.text, endsWithEos: scored.endsWithEos, eosBeforeEnd: scored.eosBeforeEnd },
    scored.positions,
    maxNewTokens,
    thresholds,
  );
  return { verdict, ms: scored.durationMs };
}

function firstDivergence(a: number[], b: number[]): number | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) if (a[i] !== b[i]) return i;
  return a.length === b.length ? null : n;
}

/** One scorer judging one side's claims at one length. */
interface CheckTally {
  scorer: string;
  claimOf: string;
  claims: number;
  passed: number;
  failed: number;
  reasons: Partial<Record<ClaimFailure, number>>;
  /** Per claim: largest gap (σ), share of failing positions, failing positions. */
  maxGap: number[];
  failShare: number[];
  failingPositions: number;
  /** Claims whose text equals the scorer's own greedy text, and how many of those failed (must be 0). */
  identicalTexts: number;
  identicalFailed: number;
}

interface LengthTally {
  newTokens: number;
  pairs: number;
  textsDiffer: number;
  idsDiffer: number;
  divergence: number[];
  generation: Record<string, { ms: number[]; tokens: number }>;
  scoring: Record<string, number[]>;
  checks: CheckTally[];
}

function newCheck(scorer: string, claimOf: string): CheckTally {
  return { scorer, claimOf, claims: 0, passed: 0, failed: 0, reasons: {}, maxGap: [], failShare: [], failingPositions: 0, identicalTexts: 0, identicalFailed: 0 };
}

function record(tally: CheckTally, judged: Judged, identical: boolean): void {
  const { verdict } = judged;
  tally.claims += 1;
  if (verdict.pass) tally.passed += 1;
  else tally.failed += 1;
  for (const f of verdict.failures) tally.reasons[f] = (tally.reasons[f] ?? 0) + 1;
  tally.maxGap.push(verdict.score.maxGap);
  tally.failShare.push(verdict.score.failShare);
  tally.failingPositions += verdict.score.failing;
  if (identical) {
    tally.identicalTexts += 1;
    if (!verdict.pass) tally.identicalFailed += 1;
  }
}

const started = performance.now();
const engineA = engineOn(deviceA);
const engineB = engineOn(deviceB);
const loads = [await load(engineA, A), await load(engineB, B)];
const environment = {
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  model: modelName,
  dtype: 'fp16',
  thresholds,
};

if (loads.some((l) => !l.ok)) {
  const result = { status: 'load-failed', environment, loads };
  if (out) writeFileSync(out, JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result, null, 2));
  await Promise.allSettled([engineA.dispose(), engineB.dispose()]);
  process.exit(3);
}

const prompts = distinctPrompts(promptCount + 1);
// Warm-up (not counted): the first run on a device compiles its kernels (WebGPU shaders) and sizes its buffers.
for (const n of lengths) {
  for (const engine of [engineA, engineB]) {
    const warm = await engine.generate({ messages: prompts[promptCount]!, maxNewTokens: n });
    await engine.scoreTokens({ messages: prompts[promptCount]!, tokenIds: warm.tokenIds });
  }
}
log(`warm-up done at ${Math.round(performance.now() - started)} ms`);

const tallies: LengthTally[] = lengths.map((newTokens) => ({
  newTokens,
  pairs: 0,
  textsDiffer: 0,
  idsDiffer: 0,
  divergence: [],
  generation: { [A]: { ms: [], tokens: 0 }, [B]: { ms: [], tokens: 0 } },
  scoring: { [A]: [], [B]: [] },
  checks: [newCheck(B, A), newCheck(A, B), newCheck(A, A), newCheck(B, B)],
}));

/** Per pair, for later analysis: lengths, divergence, and each check's verdict in brief. */
interface PairRecord {
  prompt: number;
  newTokens: number;
  tokens: [number, number];
  divergence: number | null;
  checks: { scorer: string; claimOf: string; pass: boolean; failures: ClaimFailure[]; failing: number; maxGap: number }[];
}
const pairRecords: PairRecord[] = [];

const loopStart = performance.now();
let promptsDone = 0;
let stoppedByBudget = false;
for (let i = 0; i < promptCount; i += 1) {
  if (performance.now() - loopStart > budgetMs) {
    stoppedByBudget = true;
    break;
  }
  const messages = prompts[i]!;
  for (const tally of tallies) {
    const n = tally.newTokens;
    const claims: Record<string, Claim> = {};
    for (const [side, engine] of [[A, engineA], [B, engineB]] as const) {
      const g = await engine.generate({ messages, maxNewTokens: n });
      claims[side] = { ids: g.tokenIds, text: g.text, ms: g.durationMs };
      tally.generation[side]!.ms.push(g.durationMs);
      tally.generation[side]!.tokens += g.tokenIds.length;
    }
    const a = claims[A]!;
    const b = claims[B]!;
    tally.pairs += 1;
    const sameText = a.text === b.text;
    if (!sameText) tally.textsDiffer += 1;
    const at = firstDivergence(a.ids, b.ids);
    if (at !== null) {
      tally.idsDiffer += 1;
      tally.divergence.push(at);
    }
    const scorers: Record<string, InferenceEngine> = { [A]: engineA, [B]: engineB };
    const pair: PairRecord = { prompt: i, newTokens: n, tokens: [a.ids.length, b.ids.length], divergence: at, checks: [] };
    for (const check of tally.checks) {
      const judged = await judge(scorers[check.scorer]!, messages, claims[check.claimOf]!, n);
      tally.scoring[check.scorer]!.push(judged.ms);
      record(check, judged, check.scorer === check.claimOf || sameText);
      const { pass, failures, score } = judged.verdict;
      pair.checks.push({ scorer: check.scorer, claimOf: check.claimOf, pass, failures, failing: score.failing, maxGap: Math.round(score.maxGap * 1e4) / 1e4 });
    }
    pairRecords.push(pair);
  }
  promptsDone += 1;
  if (promptsDone % 10 === 0) {
    if (out) writeFileSync(out, JSON.stringify(buildResult('partial'), null, 2));
    const t = tallies.map((x) => `${x.newTokens}: ${x.textsDiffer}/${x.pairs} differ, ${x.checks.map((c) => `${c.scorer}←${c.claimOf} ${c.failed} fail`).join(', ')}`);
    log(`${promptsDone} prompts (${Math.round((performance.now() - loopStart) / 1000)} s): ${t.join(' | ')}`);
  }
}

function rate(g: { ms: number[]; tokens: number }): { requests: number; tokens: number; tokensPerSecond: number; medianMs: number } {
  const total = g.ms.reduce((s, v) => s + v, 0);
  return { requests: g.ms.length, tokens: g.tokens, tokensPerSecond: total > 0 ? (g.tokens / total) * 1000 : 0, medianMs: median(g.ms) };
}

type CheckSummary = Omit<CheckTally, 'maxGap' | 'failShare'> & { maxGap: Distribution; failShare: Distribution };

function summariseCheck({ maxGap, failShare, ...counts }: CheckTally): CheckSummary {
  return { ...counts, maxGap: distribution(maxGap), failShare: distribution(failShare) };
}

/** The result so far: written at every checkpoint (a run cut short by the machine's limit keeps its numbers) and at the end. */
function buildResult(status: 'partial' | 'measured') {
  const perLength = tallies.map((t) => ({
    newTokens: t.newTokens,
    pairs: t.pairs,
    textsDiffer: t.textsDiffer,
    textsDifferShare: t.pairs ? t.textsDiffer / t.pairs : 0,
    idsDiffer: t.idsDiffer,
    firstDivergence: distribution(t.divergence),
    generation: Object.fromEntries(Object.entries(t.generation).map(([side, g]) => [side, rate(g)])),
    scoringMedianMs: Object.fromEntries(Object.entries(t.scoring).map(([side, ms]) => [side, median(ms)])),
    checks: t.checks.map(summariseCheck),
  }));
  return {
    status,
    environment,
    loads,
    promptsRequested: promptCount,
    promptsDone,
    stoppedByBudget,
    measuringSeconds: Math.round((performance.now() - loopStart) / 100) / 10,
    perLength,
    pairs: pairRecords,
  };
}

const result = buildResult('measured');
const { perLength } = result;
if (out) writeFileSync(out, JSON.stringify(result, null, 2));
await engineA.dispose();
await engineB.dispose();

const fmt = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : '-');
console.log(`\n${A} vs ${B}: ${promptsDone}/${promptCount} prompts${stoppedByBudget ? ' (budget reached)' : ''}, model ${modelName} fp16`);
console.log('new tokens | pairs | texts differ | first divergence p50/min/max | gen tok/s ' + `${A} / ${B}` + ' | score ms ' + `${A} / ${B}`);
for (const p of perLength) {
  const g = p.generation;
  console.log(
    `${p.newTokens} | ${p.pairs} | ${p.textsDiffer} (${fmt(p.textsDifferShare * 100, 1)} %) | ${fmt(p.firstDivergence.p50, 0)}/${fmt(p.firstDivergence.min, 0)}/${fmt(p.firstDivergence.max, 0)} | ` +
      `${fmt(g[A]!.tokensPerSecond, 0)} / ${fmt(g[B]!.tokensPerSecond, 0)} | ${fmt(p.scoringMedianMs[A]!, 1)} / ${fmt(p.scoringMedianMs[B]!, 1)}`,
  );
}
console.log('new tokens | scorer ← claim of | claims | pass | fail | reasons | max gap p50/p99/max (σ) | identical texts failed');
for (const p of perLength) {
  for (const c of p.checks) {
    const reasons = Object.entries(c.reasons).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
    console.log(
      `${p.newTokens} | ${c.scorer} ← ${c.claimOf} | ${c.claims} | ${c.passed} | ${c.failed} | ${reasons} | ` +
        `${fmt(c.maxGap.p50)}/${fmt(c.maxGap.p99)}/${fmt(c.maxGap.max)} | ${c.identicalFailed}/${c.identicalTexts}`,
    );
  }
}
