/**
 * Admission of nodes (issue 10, test h), with real operator processes, a real coordinator and `parallelix` CLI
 * processes: a node that registered without approval is PENDING, probed but never matched (requests go to approved
 * nodes, NO_CAPABLE_NODE when it is the only one for its model); `parallelix nodes approve` makes it matchable,
 * `nodes suspend` takes a node out of matching; concurrent penalties all count (one UPDATE each) and a node past
 * the penalty threshold is SUSPENDED and no longer matched.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { createPenalise } from '../../activities/penalise.js';
import { loadCoordinatorPolicy } from '../../src/policy/coordinator-policy.js';
import { getBalance } from '../../src/db/credits.js';
import type { InferenceResult, InferenceWorkflowInput } from '../../src/protocol/inference.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import { runCli } from '../helpers/cli-process.js';
import { TEST_MODEL, modelAlias, startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { waitFor } from '../helpers/observe.js';


const EXIT = { ok: 0, usage: 2, notFound: 8 };
let network: TestNetwork;
let approved: string;
/** PENDING on the shared test model, beside an approved node. */
let pendingShared: string;
/** PENDING and the only node of its model. */
let pendingAlone: string;
let aloneModel: string;

beforeAll(async () => {
  network = await startTestNetwork();
  approved = await network.startOperator('admitted');
  pendingShared = await network.startOperator('unapproved-shared', {}, undefined, { approve: false });
  const alias = modelAlias(network.stateRoot, 'admission-alone-model');
  aloneModel = alias.model;
  pendingAlone = await network.startOperator('unapproved-alone', alias.env, undefined, { approve: false });
}, 300_000);

afterAll(async () => {
  await network?.stop();
}, 120_000);

async function run(model: string): Promise<InferenceResult | string> {
  const userId = `admission-${randomUUID()}`;
  await network.fund(userId, 50_000);
  const input: InferenceWorkflowInput = { userId, model, messages: [{ role: 'user', content: 'Hello' }], maxNewTokens: 8, sampleProbability: 0 };
  try {
    return await network.client.workflow.execute('inferenceWorkflow', { taskQueue: COORDINATOR_TASK_QUEUE, workflowId: `admission-${randomUUID()}`, args: [input] });
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    // Refused or failed: nothing stays held or charged.
    expect(await getBalance(network.db, userId)).toEqual({ balance: 50_000n, held: 0n });
    return String((error.cause as ApplicationFailure).type);
  }
}

const status = async (nodeId: string) => (await network.db.node.findUniqueOrThrow({ where: { nodeId } })).status;
const cli = (...args: string[]) => runCli(args, network.cliEnv());

test('an unapproved node registers PENDING, is probed, and is never matched', async () => {
  expect(await status(approved)).toBe('ACTIVE');
  expect(await status(pendingShared)).toBe('PENDING');
  expect(await status(pendingAlone)).toBe('PENDING');
  const listed = await cli('nodes', 'list', '--json');
  expect(listed.code).toBe(EXIT.ok);
  const rows = JSON.parse(listed.output.slice(listed.output.indexOf('['))) as Array<{ nodeId: string; status: string }>;
  expect(Object.fromEntries(rows.map((r) => [r.nodeId, r.status]))).toEqual({ [approved]: 'ACTIVE', [pendingShared]: 'PENDING', [pendingAlone]: 'PENDING' });

  // Requests for the shared model all go to the approved node.
  for (let i = 0; i < 4; i += 1) {
    const result = await run(TEST_MODEL);
    expect(typeof result).toBe('object');
    expect((result as InferenceResult).nodeId).toBe(approved);
  }
  expect(await network.db.inferenceRequest.count({ where: { nodeId: { in: [pendingShared, pendingAlone] } } })).toBe(0);
  // The only node of a model, unapproved: no capable node, nothing held.
  expect(await run(aloneModel)).toBe('NO_CAPABLE_NODE');

  // It is probed all the same (its uptime is known when it is approved); a probe never changes PENDING.
  await waitFor('an up probe of the pending node', async () => ((await network.db.healthSample.count({ where: { nodeId: pendingAlone, up: true } })) > 0 ? true : undefined));
  expect(await status(pendingAlone)).toBe('PENDING');
});

test('`parallelix nodes approve` from a CLI process makes it matchable; `nodes suspend` takes a node out', async () => {
  const approvedNow = await cli('nodes', 'approve', pendingAlone);
  expect(approvedNow.code).toBe(EXIT.ok);
  expect(approvedNow.output).toContain(`${pendingAlone}: PENDING → ACTIVE`);
  expect(await status(pendingAlone)).toBe('ACTIVE');
  const served = await run(aloneModel);
  expect((served as InferenceResult).nodeId).toBe(pendingAlone);

  // Suspended, the approved node is not matched: its model's only other node is still PENDING.
  expect((await cli('nodes', 'suspend', approved)).code).toBe(EXIT.ok);
  expect(await status(approved)).toBe('SUSPENDED');
  expect(await run(TEST_MODEL)).toBe('NO_CAPABLE_NODE');
  expect((await cli('nodes', 'approve', pendingShared)).code).toBe(EXIT.ok);
  expect(((await run(TEST_MODEL)) as InferenceResult).nodeId).toBe(pendingShared);

  // Unknown node: exit 8; not a node id: exit 2.
  const unknown = await cli('nodes', 'approve', `node-${'0'.repeat(40)}`);
  expect(unknown.code).toBe(EXIT.notFound);
  expect(unknown.output).toContain('NOT_FOUND');
  expect((await cli('nodes', 'suspend', 'not-a-node')).code).toBe(EXIT.usage);
});

test('concurrent penalties all count; past the threshold the node is SUSPENDED and no longer matched', async () => {
  const policy = { ...loadCoordinatorPolicy({}), suspendAfterPenalties: 5 };
  const warnings: unknown[] = [];
  const penalise = createPenalise({ db: network.db, policy, logger: { info: () => undefined, warn: (o: unknown) => warnings.push(o), error: () => undefined } });
  const before = await network.db.node.findUniqueOrThrow({ where: { nodeId: pendingAlone } });
  expect(before.status).toBe('ACTIVE');
  const outcomes = await Promise.all(
    Array.from({ length: 12 }, (_, i) => penalise({ nodeId: pendingAlone, requestId: `penalty-${i}-${randomUUID()}`, reason: 'BAD_SIGNATURE' })),
  );
  expect(outcomes.every((o) => o.applied)).toBe(true);
  const after = await network.db.node.findUniqueOrThrow({ where: { nodeId: pendingAlone } });
  // No lost update: every penalty counted, and the reputation was multiplied twelve times.
  expect(after.penaltyCount).toBe(before.penaltyCount + 12);
  expect(after.reputation).toBeCloseTo(before.reputation * policy.penaltyReputationFactor ** 12, 12);
  expect(after.status).toBe('SUSPENDED');
  expect(await run(aloneModel)).toBe('NO_CAPABLE_NODE');
  // A retried penalty (same node, request, reason) is not counted twice.
  const again = await penalise({ nodeId: pendingAlone, requestId: 'penalty-retry', reason: 'BAD_SIGNATURE' });
  const retried = await penalise({ nodeId: pendingAlone, requestId: 'penalty-retry', reason: 'BAD_SIGNATURE' });
  expect([again.applied, retried.applied]).toEqual([true, false]);
  expect((await network.db.node.findUniqueOrThrow({ where: { nodeId: pendingAlone } })).penaltyCount).toBe(before.penaltyCount + 13);
});
