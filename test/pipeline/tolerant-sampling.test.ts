/**
 * Step 11, tolerant mode, end to end: real operator processes on the real model. Honest nodes whose logits are
 * perturbed (a stand-in for another device: their greedy texts diverge from the CPU reference) pass node_j's
 * teacher-forced check; dishonest answers (test/fixtures/faulty-operator.ts) fail it, are overruled by a third
 * node and replaced by a checked answer. Mode, scores and devices reach the chain record; scorers earn a
 * verification weight.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { createRegistryReader } from '../../src/chain/registry.js';
import { idToBytes32 } from '../../src/chain/record.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import type { ChatMessage, InferenceResult, RequestStatus } from '../../src/protocol/inference.js';
import { verifyResult } from '../../src/sdk/verify.js';
import { projectRoot } from '../../src/shared/paths.js';
import { spawnCli } from '../helpers/cli-process.js';
import { expectNoPlaintextInHistory } from '../helpers/history.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';

const FAULTY_ENTRY = path.join(projectRoot, 'test', 'fixtures', 'faulty-operator.ts');
/** Prompts whose greedy answers the 0.03 σ stand-in changes (checked below, so the pairs are really heterogeneous). */
const PROMPTS: ChatMessage[][] = [
  FRANCE_MESSAGES,
  [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Write a haiku about autumn leaves falling in a quiet park.' }],
  [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Explain in two sentences why the sky is blue.' }],
  [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Give me three ideas for a quick vegetarian dinner tonight.' }],
];

let network: TestNetwork;
let alpha: string;
let beta: string;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0, sampleMode: 'tolerant' }, operatorNames: ['alpha', 'beta'] });
  [alpha, beta] = [...network.operators.values()].map((op) => op.nodeId) as [string, string];
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

async function run(userId: string, messages: ChatMessage[] = FRANCE_MESSAGES): Promise<{ result: InferenceResult; status: RequestStatus; handle: WorkflowHandle }> {
  const handle = await network.client.workflow.start('inferenceWorkflow', {
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowId: `request-${randomUUID()}`,
    args: [{ userId, model: TEST_MODEL, messages, maxNewTokens: 32, sampleProbability: 1 }],
  });
  const result = (await handle.result()) as InferenceResult;
  return { result, status: (await handle.query('status')) as RequestStatus, handle };
}

/** Invariant 2 with step 11's extra traffic: the claim travels sealed to node_j, its scores carry no text. */
async function expectNoPlaintext(handle: WorkflowHandle): Promise<void> {
  const report = await expectNoPlaintextInHistory(await handle.fetchHistory(), {
    codec: network.codec,
    secrets: ['capital of France', 'You are a helpful assistant', FRANCE_32_TEXT],
  });
  expect(report.payloads.operatorWire).toBeGreaterThanOrEqual(5); // dispatch, result, sealed claim (marker + input), score
}

/** Makes `order` the match order (idle nodes are ordered by uptime, then reputation; others come last). */
async function preferNodes(order: string[]): Promise<void> {
  await network.db.node.updateMany({ data: { reputation: 0.01 } });
  for (const [i, nodeId] of order.entries()) await network.db.node.update({ where: { nodeId }, data: { reputation: 1 - i * 0.1 } });
}

/** Runs until the first node of `order` really was node_i (a health probe can reorder a tie). */
async function runWith(order: string[], userId: string, messages?: ChatMessage[]) {
  let outcome: Awaited<ReturnType<typeof run>> | undefined;
  for (let attempt = 0; attempt < 4 && outcome?.status.triedNodeIds[0] !== order[0]; attempt += 1) {
    await preferNodes(order);
    outcome = await run(userId, messages);
  }
  expect(outcome!.status.triedNodeIds[0]).toBe(order[0]);
  return outcome!;
}

async function retire(name: string): Promise<void> {
  const op = network.operators.get(name)!;
  await op.process.stop('SIGTERM');
  network.operators.delete(name);
  await network.db.node.update({ where: { nodeId: op.nodeId }, data: { status: 'OFFLINE' } });
}

function reader() {
  return createRegistryReader({ rpcUrl: network.anvil.rpcUrl, chainId: network.anvil.chainId, address: network.registryAddress });
}

async function fundedUser(): Promise<string> {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 10_000_000);
  return userId;
}

test('same device: node_j scores node_i’s tokens, agrees, and earns a verification weight; the record says tolerant', async () => {
  const userId = await fundedUser();
  const { result, status, handle } = await runWith([alpha, beta], userId);
  expect(result).toMatchObject({ text: FRANCE_32_TEXT, verdict: 'AcceptedSampledAgree', mode: 'tolerant', nodeId: alpha, sampledNodeIds: [beta] });
  await expectNoPlaintext(handle);
  expect(result.check).toMatchObject({ positions: 32, failing: 0, longestFailRun: 0 });
  expect(status.triedNodeIds).toEqual([alpha, beta]);
  // beta never generated: its operator logged a scoring, no inference for this request.
  const betaLogs = network.operators.get('beta')!.process.logs().filter((l) => l.requestId === result.requestId);
  expect(betaLogs.map((l) => l.msg)).toEqual(['claim scored']);

  const rewards = await network.db.rewardLedgerEntry.findMany({ where: { requestId: result.requestId }, orderBy: { kind: 'asc' } });
  expect(rewards.map((r) => [r.nodeId, r.kind])).toEqual([
    [alpha, 'EXECUTION'],
    [beta, 'VERIFICATION'],
  ]);
  // Verification weight: prompt + answer tokens at the input price (1), scaled by uptime (1 here).
  expect(Number(rewards[1]!.weight)).toBe(result.usage.inputTokens + result.usage.outputTokens);
  expect(Number(rewards[1]!.weight)).toBeLessThan(Number(rewards[0]!.weight));

  const onChain = await reader().readRecord(result.requestId);
  expect(onChain).toMatchObject({ verdict: 'AcceptedSampledAgree', mode: 'tolerant', nodeDevice: 'cpu', sampledNodeDevice: 'cpu', sampledNodeKey: idToBytes32(beta) });
  expect(onChain!.check).toMatchObject({ positions: 32, failing: 0 });
  const record = await network.db.executionRecord.findUniqueOrThrow({ where: { requestId: result.requestId } });
  expect(record).toMatchObject({ mode: 'TOLERANT', nodeDevice: 'cpu', sampledNodeDevice: 'cpu', signature: result.signature });
}, 180_000);

describe.each([0.01, 0.03])('an honest node on "other hardware" (seeded logit noise %s σ)', (size) => {
  test('diverges from the CPU reference and passes the tolerant check', async () => {
    const name = `hetero-${size}`;
    const hetero = await network.startOperator(name, { PARALLELIX_TEST_LOGIT_NOISE: String(size), PARALLELIX_TEST_LOGIT_NOISE_SEED: '7' });
    try {
      const userId = await fundedUser();
      let diverged = 0;
      for (const messages of PROMPTS) {
        const { result: reference } = await runWith([alpha, beta], userId, messages); // the CPU reference answer
        const { result } = await runWith([hetero, alpha, beta], userId, messages);
        if (result.text !== reference.text) diverged += 1;
        expect(result).toMatchObject({ nodeId: hetero, verdict: 'AcceptedSampledAgree', mode: 'tolerant' });
        expect(result.check!.failing).toBe(0);
        expect(await network.db.nodePenalty.count({ where: { requestId: result.requestId } })).toBe(0);
      }
      // The stand-in really is heterogeneous: greedy texts differ from the reference, and still pass.
      expect(diverged).toBeGreaterThan(0);
    } finally {
      await retire(name);
    }
  }, 300_000);
});

const DISHONEST: Array<[string, Record<string, string>, string | undefined]> = [
  ['a different model (2 σ of seeded noise: far beyond any honest device)', { PARALLELIX_TEST_LOGIT_NOISE: '2', PARALLELIX_TEST_LOGIT_NOISE_SEED: '99' }, undefined],
  ['a truncated answer', { PARALLELIX_TEST_FAULT: 'truncate' }, FAULTY_ENTRY],
  ['an extended answer', { PARALLELIX_TEST_FAULT: 'extend' }, FAULTY_ENTRY],
  ['one replaced token in the middle', { PARALLELIX_TEST_FAULT: 'replace-token' }, FAULTY_ENTRY],
  ['random tokens', { PARALLELIX_TEST_FAULT: 'random-tokens' }, FAULTY_ENTRY],
];

describe.each(DISHONEST)('a dishonest node_i returning %s', (label, env, entry) => {
  test('fails node_j’s and a third node’s check: penalised, overruled, the user gets a checked answer', async () => {
    const name = `dishonest-${label.split(' ')[1]}`;
    const dishonest = await network.startOperator(name, env, entry);
    try {
      const userId = await fundedUser();
      const { result, status, handle } = await runWith([dishonest, alpha, beta], userId);
      expect(result.verdict).toBe('MajorityOverruled');
      expect(result.mode).toBe('tolerant');
      expect(result.text).toBe(FRANCE_32_TEXT);
      expect([alpha, beta]).toContain(result.nodeId);
      expect(result.check!.failing).toBeGreaterThan(0);
      expect(result.dispute!.failing).toBeGreaterThan(0);
      expect(status.triedNodeIds[0]).toBe(dishonest);
      const penalties = await network.db.nodePenalty.findMany({ where: { requestId: result.requestId } });
      expect(penalties.map((p) => [p.nodeId, p.reason])).toEqual([[dishonest, 'SAMPLE_DISAGREEMENT']]);
      const rewards = await network.db.rewardLedgerEntry.findMany({ where: { requestId: result.requestId } });
      expect(rewards.find((r) => r.nodeId === dishonest)).toBeUndefined();
      expect(rewards.filter((r) => r.kind === 'EXECUTION').map((r) => r.nodeId)).toEqual([result.nodeId]);

      const onChain = await reader().readRecord(result.requestId);
      expect(onChain).toMatchObject({ verdict: 'MajorityOverruled', mode: 'tolerant', nodeKey: idToBytes32(result.nodeId), sampledNodeKey: idToBytes32(dishonest) });
      expect(onChain!.check.failing).toBeGreaterThan(0);
      expect(onChain!.dispute.failing).toBeGreaterThan(0);

      if (env.PARALLELIX_TEST_FAULT === 'truncate') {
        await expectNoPlaintext(handle);
        // An overruled run audits clean (the record names the replacing node, paired with node_i) …
        const audit = spawnCli(['audit', result.requestId], { ...network.cliEnv(), PARALLELIX_LOG_LEVEL: 'warn' });
        expect(await audit.exited).toBe(0); // README: 0 when everything agrees
        expect(audit.output()).toMatch(/ok\s+node: chain = database/);
        expect(audit.output()).toMatch(/ok\s+sample mode and scores: chain = database\s+chain tolerant/);
        // … and the user's copy verifies against the chain alone.
        const report = await verifyResult(
          { requestId: result.requestId, nodeId: result.nodeId, result: result.text, poe: result.poe, signature: result.signature, verdict: result.verdict, mode: result.mode, anchorTx: result.anchorTx, sampled: result.sampled },
          { rpcUrl: network.anvil.rpcUrl, chainId: network.anvil.chainId, registryAddress: network.registryAddress },
        );
        expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      }
    } finally {
      await retire(name);
    }
  }, 240_000);
});

/**
 * The random-weights test model hardly conditions on its prompt: another prompt's greedy answer is, under this
 * prompt, as close to the argmax as an honest device 0.03–0.1 σ away (docs/sampling.md, bench "sampling"). No
 * tolerant check that passes such devices can reject these two strategies on this model; a trained model's
 * logits depend on the prompt and put such answers several σ away. Kept as known failures so that a model
 * that can tell the difference turns them green (and this block must then become an ordinary test).
 */
describe.each([
  ['the same model run on another prompt', 'other-prompt'],
  ['an answer copied from another request', 'copied-answer'],
])('a dishonest node_i returning %s (not detectable on the random-weights model)', (_label, fault) => {
  test.failing('fails the tolerant check', async () => {
    const name = `dishonest-${fault}`;
    const dishonest = await network.startOperator(name, { PARALLELIX_TEST_FAULT: fault }, FAULTY_ENTRY);
    try {
      const { result } = await runWith([dishonest, alpha, beta], await fundedUser());
      expect(result.text).not.toBe(FRANCE_32_TEXT); // it did deliver another answer …
      expect(result.verdict).toBe('MajorityOverruled'); // … which should have been caught
    } finally {
      await retire(name);
    }
  }, 240_000);
});
