/**
 * Operator batching end to end (PARALLELIX_OPERATOR_BATCH_MAX): a real operator process that holds several dispatches
 * runs them as shared generations; every request completes, verified and anchored, with the text a single run of the
 * engine gives, and the operator's metrics show generations that carried more than one request.
 */
import { randomUUID } from 'node:crypto';
import { promptAt } from '../../bench/prompts.js';
import type { InferenceResult } from '../../src/protocol/inference.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { waitForStartedDispatch } from '../helpers/observe.js';
import { LONG_GENERATIONS, SEA_STORY, startRequest } from '../helpers/scenarios.js';
import { runEngine } from '../inference/run-engine.js';

/** One long generation keeps the node busy while the short ones arrive: they queue and share the next one. */
const LONG = 1500;
const SHORT = 128;
const SHORTS = 3;
let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 } });
  await network.startOperator('batcher', { ...LONG_GENERATIONS, PARALLELIX_OPERATOR_BATCH_MAX: '4', PARALLELIX_METRICS_PORT: '0' });
}, 300_000);

afterAll(async () => {
  await network?.stop();
});

/** One metric's value from a Prometheus text page (the process's default labels, if any, in braces). */
function metric(page: string, name: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) throw new Error(`no ${name} in the operator's metrics`);
  return Number(line.split(' ').pop());
}

test('dispatches that arrive while the node generates share its next generation and give the single-run texts', async () => {
  const operator = network.operators.get('batcher')!;
  const node = await network.db.node.findUniqueOrThrow({ where: { nodeId: operator.nodeId } });
  // It announces what it holds at once: concurrency 1 × batch 4.
  expect(node.capabilities).toMatchObject({ concurrency: 4 });

  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 10_000_000);
  // The long one (SEA_STORY runs its 1,500 tokens without an end-of-sequence) is generating before the others start.
  const long = await startRequest(network, userId, LONG);
  await waitForStartedDispatch(long);
  const shorts = await Promise.all(Array.from({ length: SHORTS }, (_, k) => startRequest(network, userId, SHORT, promptAt(k + 1))));
  const results = (await Promise.all([long, ...shorts].map((h) => h.result()))) as InferenceResult[];

  const single = await runEngine({ maxNewTokensLimit: LONG, ops: results.map((_, i) => (i === 0 ? { messages: SEA_STORY, maxNewTokens: LONG } : { messages: promptAt(i), maxNewTokens: SHORT })) });
  for (const [i, result] of results.entries()) {
    expect(result).toMatchObject({ nodeId: operator.nodeId, verdict: 'Accepted', text: single.results[i]!.text, usage: single.results[i]!.usage });
  }
  const { metricsUrl } = await operator.process.ready;
  const page = await (await fetch(metricsUrl!)).text();
  // Every request rode exactly one generation, and fewer generations ran than requests.
  expect(metric(page, 'parallelix_operator_generation_rows_sum')).toBe(1 + SHORTS);
  expect(metric(page, 'parallelix_operator_generation_rows_count')).toBeLessThan(1 + SHORTS);
}, 300_000);
