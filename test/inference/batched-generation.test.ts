/**
 * Batched greedy generation (engine batchMax > 1): requests that arrive while the engine is busy run together as one
 * generation, each row stopped at its own end or limit, cancelled on its own, reporting its own tokens; the texts are
 * the single runs' on this model (real model, child processes: see engine.test.ts).
 */
import { BENCH_PROMPTS } from '../../bench/prompts.js';
import type { RunnerOp } from './engine-runner.js';
import { runEngine, type RunnerOutput } from './run-engine.js';

const LIMITS = [32, 8, 24, 32, 16, 32];
const ops: RunnerOp[] = BENCH_PROMPTS.map((messages, i) => ({ messages, maxNewTokens: LIMITS[i]! }));

/** Ops whose token events overlap in time, grouped: one group per generation they shared. */
function generations(out: RunnerOutput): number[][] {
  const span = out.results.map((_, i) => {
    const at = out.events.flatMap((e, k) => (e.startsWith(`${i}:`) ? [k] : []));
    return { i, first: Math.min(...at), last: Math.max(...at) };
  });
  const groups: Array<{ members: number[]; last: number }> = [];
  for (const s of [...span].sort((a, b) => a.first - b.first)) {
    const open = groups.at(-1);
    if (open && s.first < open.last) {
      open.members.push(s.i);
      open.last = Math.max(open.last, s.last);
    } else groups.push({ members: [s.i], last: s.last });
  }
  return groups.map((g) => g.members);
}

test('requests arriving together share generations and get exactly the texts and counts of single runs', async () => {
  const [single, batched] = await Promise.all([runEngine({ ops }), runEngine({ ops, parallel: true, batchMax: 8 })]);
  expect(batched.info).toMatchObject({ batchMax: 8 });
  const view = (out: RunnerOutput) => out.results.map((r) => ({ ok: r.ok, text: r.text, usage: r.usage, finishReason: r.finishReason, tokensSeen: r.tokensSeen }));
  expect(view(batched)).toEqual(view(single));
  // Each stopped at its own limit, not the batch's longest.
  expect(batched.results.map((r) => r.usage?.outputTokens)).toEqual(LIMITS);
  // Sequential in the single engine; at most two generations here (the first request may start alone).
  expect(generations(single)).toHaveLength(ops.length);
  expect(generations(batched).length).toBeLessThanOrEqual(2);
}, 120_000);

test('a row cancelled mid-generation stops alone: the others finish with their single-run texts', async () => {
  const cancelled = ops.map((op, i) => (i === 3 ? { ...op, abortAfterTokens: 5 } : op));
  const [single, batched] = await Promise.all([runEngine({ ops }), runEngine({ ops: cancelled, parallel: true, batchMax: 8 })]);
  const third = batched.results[3]!;
  expect(third).toMatchObject({ ok: false, error: { name: 'GenerationCancelledError', outputTokens: 5 }, tokensSeen: 5 });
  for (const i of [0, 1, 2, 4, 5]) expect(batched.results[i]?.text).toBe(single.results[i]?.text);
}, 120_000);

test('requests join a batch only while every row fits the context window', async () => {
  // Prompts of 39 (France) and 54 (summary) tokens; a window of 80: each fits alone, the two together would not
  // (54 + 40 > 80: a row runs to the longest prompt plus the largest maxNewTokens).
  const [france, , , , summary] = BENCH_PROMPTS;
  const fitOps: RunnerOp[] = [
    { messages: france!, maxNewTokens: 8 },
    { messages: summary!, maxNewTokens: 24 },
    { messages: france!, maxNewTokens: 40 },
  ];
  const [single, batched] = await Promise.all([runEngine({ maxContextTokens: 80, ops: fitOps }), runEngine({ maxContextTokens: 80, ops: fitOps, parallel: true, batchMax: 8 })]);
  expect(batched.results.map((r) => r.text)).toEqual(single.results.map((r) => r.text));
  // The two that cannot share never do (the short one may join either).
  expect(generations(batched).some((g) => g.includes(1) && g.includes(2))).toBe(false);
}, 120_000);
