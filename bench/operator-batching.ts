/**
 * `npm run bench:operator-batching [-- --quick]`: what batched generation (PARALLELIX_OPERATOR_BATCH_MAX) buys an
 * operator, on the engine it runs: B greedy requests at once through one engine with batchMax = B, against the same
 * B requests one after another on batchMax = 1, in alternating rounds in one process (onnxruntime with the
 * operator's default threads). Reports CPU ms per request, requests/s and tokens/s, and how many batched texts equal
 * the single runs' texts. Writes bench/results/operator-batching-<timestamp>.json and prints a table.
 */
import './quiet-logs.js';
import type { InferenceEngine } from '../src/inference/engine.js';
import { TEST_MODEL } from '../test/helpers/network.js';
import { machineFacts } from './machine.js';
import { selfCpuMs } from './proc-cpu.js';
import { distinctPrompts } from './prompts.js';
import { median, round } from './stats.js';
import { formatTable } from './table.js';
import { runBench, writeBenchResults } from './standalone.js';
import { operatorDefaultThreads, testModelEngine } from './test-model-engine.js';

const quick = process.argv.includes('--quick');
const SIZES = [1, 2, 4, 8, 16];
const ROUNDS = quick ? 3 : 8;
const MAX_NEW_TOKENS = 32;
const PROMPTS = distinctPrompts(SIZES.reduce((a, b) => a + b, 0) * ROUNDS);
const threads = operatorDefaultThreads();
const engine = (batchMax: number): InferenceEngine => testModelEngine({ batchMax, intraOpThreads: threads.intraOpThreads, intraOpSpinning: threads.spinning });

interface Side {
  cpuMs: number[];
  wallMs: number[];
  tokens: number;
  requests: number;
}

/** B requests at once: the first starts alone, the others queue behind it (batched: they share the next generation). */
async function round_(e: InferenceEngine, prompts: number[], side: Side, texts: Map<number, string>): Promise<void> {
  const cpu = selfCpuMs();
  const started = performance.now();
  const results = await Promise.all(prompts.map((p) => e.generate({ messages: PROMPTS[p]!, maxNewTokens: MAX_NEW_TOKENS })));
  side.wallMs.push(performance.now() - started);
  side.cpuMs.push(selfCpuMs() - cpu);
  side.requests += results.length;
  results.forEach((r, i) => {
    side.tokens += r.usage.outputTokens;
    texts.set(prompts[i]!, r.text);
  });
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const single = engine(1);
  await single.load();
  const points = [];
  let prompt = 0;
  for (const size of SIZES) {
    const batched = engine(size);
    await batched.load();
    const sides = { single: { cpuMs: [], wallMs: [], tokens: 0, requests: 0 } as Side, batched: { cpuMs: [], wallMs: [], tokens: 0, requests: 0 } as Side };
    const singleTexts = new Map<number, string>();
    const batchedTexts = new Map<number, string>();
    for (let r = 0; r < ROUNDS; r += 1) {
      const prompts = Array.from({ length: size }, () => prompt++);
      await round_(single, prompts, sides.single, singleTexts);
      await round_(batched, prompts, sides.batched, batchedTexts);
    }
    await batched.dispose();
    const identical = [...batchedTexts].filter(([p, text]) => singleTexts.get(p) === text).length;
    const view = (s: Side) => ({
      cpuMsPerRequest: round(s.cpuMs.reduce((a, b) => a + b, 0) / s.requests),
      requestsPerSecond: round((s.requests / s.wallMs.reduce((a, b) => a + b, 0)) * 1000),
      tokensPerSecond: round((s.tokens / s.wallMs.reduce((a, b) => a + b, 0)) * 1000, 0),
      roundMsMedian: round(median(s.wallMs)),
    });
    const point = { batch: size, requests: sides.batched.requests, single: view(sides.single), batched: view(sides.batched), identicalTexts: identical, comparedTexts: batchedTexts.size };
    points.push(point);
    console.log(`batch ${size}: CPU ms/request ${point.single.cpuMsPerRequest} -> ${point.batched.cpuMsPerRequest}, identical texts ${identical}/${batchedTexts.size}`);
  }
  await single.dispose();
  console.log(`\nOperator batching on the engine (${quick ? 'quick' : 'full'}; ${TEST_MODEL}, CPU, ${threads.intraOpThreads} intra-op thread(s), ${MAX_NEW_TOKENS} new tokens, greedy)\n`);
  console.log(
    formatTable(
      ['batch', 'requests', 'CPU ms/req single', 'CPU ms/req batched', 'req/s single', 'req/s batched', 'tok/s single', 'tok/s batched', 'identical texts'],
      points.map((p) => [p.batch, p.requests, p.single.cpuMsPerRequest, p.batched.cpuMsPerRequest, p.single.requestsPerSecond, p.batched.requestsPerSecond, p.single.tokensPerSecond, p.batched.tokensPerSecond, `${p.identicalTexts}/${p.comparedTexts}`]),
    ),
  );
  const file = writeBenchResults('operator-batching', startedAt, { mode: quick ? 'quick' : 'full', machine: machineFacts(), maxNewTokens: MAX_NEW_TOKENS, threads, points });
  console.log(`\nresults: ${file}`);
}

runBench(main);
