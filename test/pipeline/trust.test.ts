/**
 * Issue 10 (part B) against a real network, each attack by a real process:
 *  (c) a namespace client without the codec key starts `inferenceWorkflow` for a victim: refused at step 01
 *      (REQUEST_NOT_AUTHENTIC) before anything is held: no hold, no request row, no charge. A platform run's sealed
 *      input copied from history and started again under its workflow id is refused the same way.
 *  (d) a real dispatch copied from history and re-scheduled on the same node with the attacker's reply key (under
 *      the genuine signature or the attacker's), unsigned or signed by the attacker: refused, nothing sealed to the
 *      attacker, the prompt in no history and no log.
 *  (g) an operator whose failure text quotes the prompt: the request completes elsewhere, and the text is in no
 *      history and no operator log (the operator withholds an unexpected error's text, and seals its failures, stack
 *      traces included, to the coordinator).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import { getBalance } from '../../src/db/credits.js';
import { SEALED_TO_COORDINATOR_ENCODING } from '../../src/codec/sealed-payload.js';
import type { InferenceResult, InferenceWorkflowInput, RequestStatus } from '../../src/protocol/inference.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import { projectRoot } from '../../src/shared/paths.js';
import { expectNoPlaintextInHistory, scanHistoryForPlaintext } from '../helpers/history.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';

const ROGUE_CLIENT = path.join(projectRoot, 'test', 'fixtures', 'rogue-client.ts');
const ROGUE_DISPATCHER = path.join(projectRoot, 'test', 'fixtures', 'rogue-dispatcher.ts');
const FAULTY_ENTRY = path.join(projectRoot, 'test', 'fixtures', 'faulty-operator.ts');

let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha'] });
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

/** Runs a rogue process to the end and returns its JSON lines. */
function runRogue(args: string[], entry = ROGUE_CLIENT): Promise<Array<Record<string, unknown>>> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`rogue client exited ${String(code)}:\n${err.slice(-4000)}`));
      else resolve(out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>));
    }),
  );
}

function sealedRun(userId: string, messages: InferenceWorkflowInput['messages']) {
  return network.client.workflow.start('inferenceWorkflow', {
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowId: `request-${randomUUID()}`,
    args: [{ userId, model: TEST_MODEL, messages, maxNewTokens: 16 } satisfies InferenceWorkflowInput],
  });
}

test('(c) a client without the codec key cannot start paid work: refused at 01, nothing held, nothing charged', async () => {
  const victim = `victim-${randomUUID()}`;
  await network.fund(victim, 100_000);
  // A platform run of the victim, whose sealed input the rogue copies from history.
  const platform = await sealedRun(victim, [{ role: 'user', content: 'A genuine request.' }]);
  const genuine = (await platform.result()) as InferenceResult;
  const before = await getBalance(network.db, victim);
  expect(before).toEqual({ balance: BigInt(100_000 - genuine.creditsCharged), held: 0n });
  const holdsBefore = await network.db.creditHold.count();

  const outcomes = await runRogue([network.temporal.server.address, network.temporal.server.namespace, victim, TEST_MODEL, platform.workflowId]);
  expect(outcomes.map((o) => o.attempt)).toEqual(['unsealed', 'forged-seal', 'malformed-seal', 'copied-sealed-input']);
  // None completed; the platform (which holds the key that opens the failures) reads why.
  expect(outcomes.filter((o) => o.completed)).toEqual([]);
  for (const { workflowId } of outcomes) {
    const failure = await network.client.workflow.getHandle(String(workflowId)).result().then(
      () => undefined,
      (error: unknown) => (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure ? error.cause : error),
    );
    expect([workflowId, (failure as ApplicationFailure).type]).toEqual([workflowId, 'REQUEST_NOT_AUTHENTIC']);
  }
  for (const { workflowId } of outcomes) {
    // Refused at step 01: the run never reached 02 Admit, so it has no request id, row or hold.
    const status = (await network.client.workflow.getHandle(String(workflowId)).query('status')) as RequestStatus;
    expect([status.step, status.requestId]).toEqual(['01 Request', null]);
  }
  expect(await network.db.creditHold.count()).toBe(holdsBefore);
  expect(await network.db.inferenceRequest.count({ where: { workflowId: { startsWith: 'rogue-' } } })).toBe(0);
  expect(await network.db.inferenceRequest.count({ where: { user: { externalId: victim } } })).toBe(1);
  expect(await getBalance(network.db, victim)).toEqual(before);
  // The platform's own client still works for the same user.
  const again = (await (await sealedRun(victim, [{ role: 'user', content: 'Another genuine request.' }])).result()) as InferenceResult;
  expect(again.creditsCharged).toBeGreaterThan(0);
}, 180_000);

test('(g) an operator failure quoting the prompt reaches no history in clear; the request completes elsewhere', async () => {
  const leaky = await network.startOperator('leaky', { PARALLELIX_TEST_FAULT: 'failure-quotes-prompt' }, FAULTY_ENTRY);
  const honest = network.operators.get('alpha')!.nodeId;
  const secret = `the launch code is ${randomUUID()}`;
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 100_000);
  // Matching order: the leaky node first (reputations order idle nodes; the honest one last).
  await network.db.node.update({ where: { nodeId: honest }, data: { reputation: 0.5 } });
  try {
    const handle = await sealedRun(userId, [{ role: 'user', content: `Remember: ${secret}.` }]);
    const result = (await handle.result()) as InferenceResult;
    const status = (await handle.query('status')) as RequestStatus;
    expect(status.triedNodeIds).toEqual([leaky, honest]);
    expect(result.nodeId).toBe(honest);

    const history = await handle.fetchHistory();
    // The leaky node's failure is in history, sealed to the coordinator: its text opens only with the coordinator key.
    const failed = (history.events ?? []).find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes?.failure;
    expect(failed?.message).toBe('Encoded failure');
    const encoded = failed?.encodedAttributes as proto.api.common.v1.IPayload;
    expect(Buffer.from(encoded.metadata!.encoding!).toString()).toBe(SEALED_TO_COORDINATOR_ENCODING);
    const [opened] = await network.codec.decode([encoded as never]);
    expect(JSON.parse(Buffer.from(opened!.data!).toString())).toMatchObject({ message: expect.stringMatching(/^the operator failed \(Error\); its text is withheld/) });
    // The prompt itself is in the run (encrypted input), so the scan looked where it would be.
    await expectNoPlaintextInHistory(history, { codec: network.codec, secrets: [secret] });
    // Nor does the leaky operator's log hold it (it logs codes, never text).
    expect(network.operators.get('leaky')!.process.stderr()).not.toContain(secret);
  } finally {
    await network.db.node.update({ where: { nodeId: honest }, data: { reputation: 1 } });
    // Out of the later tests' way: stopped, and out of matching at once.
    await network.operators.get('leaky')!.process.stop('SIGTERM');
    network.operators.delete('leaky');
    await network.db.node.update({ where: { nodeId: leaky }, data: { status: 'OFFLINE' } });
  }
}, 180_000);

test('(d) a copied dispatch re-scheduled with another reply key, unsigned or wrongly signed: the node refuses, nothing leaks', async () => {
  const secret = `the vault opens with ${randomUUID()}`;
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 100_000);
  const real = await sealedRun(userId, [{ role: 'user', content: `Keep this private: ${secret}.` }]);
  const result = (await real.result()) as InferenceResult;
  const alpha = network.operators.get('alpha')!;
  const inferencesBefore = alpha.process.logs().filter((line) => line.msg === 'inference done').length;

  const outcomes = await runRogue([network.temporal.server.address, network.temporal.server.namespace, real.workflowId], ROGUE_DISPATCHER);
  expect(outcomes.map((o) => [o.variant, o.type, o.nonRetryable])).toEqual([
    ['other-reply-key-genuine-signature', 'DISPATCH_NOT_AUTHENTIC', true],
    ['other-reply-key-attacker-signature', 'DISPATCH_NOT_AUTHENTIC', true],
    ['unsigned', 'DISPATCH_NOT_AUTHENTIC', true],
    ['attacker-signature', 'DISPATCH_NOT_AUTHENTIC', true],
  ]);
  expect(outcomes.filter((o) => o.completed)).toEqual([]);
  // Refused before anything ran: the node generated nothing more, so nothing was sealed to anyone.
  expect(alpha.process.logs().filter((line) => line.msg === 'inference done').length).toBe(inferencesBefore);
  for (const { workflowId } of outcomes) {
    const history = await network.client.workflow.getHandle(String(workflowId)).fetchHistory();
    expect((history.events ?? []).some((e) => e.activityTaskCompletedEventAttributes)).toBe(false);
    // The attacker's own payloads are in clear (its choice); the prompt is nowhere in them.
    const { violations } = await scanHistoryForPlaintext(history, { codec: network.codec, secrets: [secret], expectEncrypted: [] });
    expect(violations.filter((v) => v.includes(secret))).toEqual([]);
  }
  await expectNoPlaintextInHistory(await real.fetchHistory(), { codec: network.codec, secrets: [secret] });
  expect(alpha.process.stderr()).not.toContain(secret);
  expect(result.creditsCharged).toBeGreaterThan(0);
}, 240_000);
