/**
 * Operator batching end to end (PARALLELIX_OPERATOR_BATCH_MAX): a real operator process that holds several dispatches
 * runs them as shared generations; every request completes, verified and anchored, with the text a single run of the
 * engine gives, and the operator's metrics show generations that carried more than one request.
 */
import { randomUUID } from 'node:crypto';
import { runRequest } from '../../bench/pipeline.js';
import { promptAt } from '../../bench/prompts.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { runEngine } from '../inference/run-engine.js';

const REQUESTS = 6;
const MAX_NEW_TOKENS = 16;
let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 } });
  await network.startOperator('batcher', { PARALLELIX_OPERATOR_BATCH_MAX: '4', PARALLELIX_METRICS_PORT: '0' });
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

test('dispatches held together share generations and give the single-run texts', async () => {
  const operator = network.operators.get('batcher')!;
  const node = await network.db.node.findUniqueOrThrow({ where: { nodeId: operator.nodeId } });
  // It announces what it holds at once: concurrency 1 × batch 4.
  expect(node.capabilities).toMatchObject({ concurrency: 4 });

  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  const options = { userId, count: REQUESTS, concurrency: REQUESTS, maxNewTokens: MAX_NEW_TOKENS, sampleProbability: 0 };
  const done = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => runRequest(network, i, options)));
  const single = await runEngine({ ops: done.map((_, i) => ({ messages: promptAt(i), maxNewTokens: MAX_NEW_TOKENS })) });
  for (const [i, d] of done.entries()) {
    expect(d.result).toMatchObject({ nodeId: operator.nodeId, verdict: 'Accepted', text: single.results[i]!.text, usage: single.results[i]!.usage });
  }
  const { metricsUrl } = await operator.process.ready;
  const page = await (await fetch(metricsUrl!)).text();
  // Every request rode exactly one generation, and fewer generations ran than requests.
  expect(metric(page, 'parallelix_operator_generation_rows_sum')).toBe(REQUESTS);
  expect(metric(page, 'parallelix_operator_generation_rows_count')).toBeLessThan(REQUESTS);
}, 300_000);
