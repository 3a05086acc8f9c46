/**
 * Faults injected for real into a running network: operators frozen (SIGSTOP) and killed (SIGKILL), the coordinator
 * process killed mid-run. Each fault is triggered by observed state (a dispatch running on a node), and each test
 * asserts afterwards that the fault hit the run where it meant to. Every test restores what it changed.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { getBalance } from '../../src/db/credits.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import type { InferenceResult, InferenceWorkflowInput, RequestStatus } from '../../src/protocol/inference.js';
import { ANVIL_DEPLOYER_PRIVATE_KEY } from '../../src/chain/index.js';
import { spawnCli } from '../helpers/cli-process.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { eventTime, identityThatRecorded, waitFor, waitForStartedDispatch, workerIdentity } from '../helpers/observe.js';

const messages: InferenceWorkflowInput['messages'] = [{ role: 'user', content: 'Tell me a long story about the sea.' }];
const LONG = { PARALLELIX_MAX_CONTEXT_TOKENS: '2048', PARALLELIX_MAX_NEW_TOKENS: '2000' };
const NAMES = ['alpha', 'beta', 'gamma'];

let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0, dispatchHeartbeatSeconds: 5 } });
  for (const name of NAMES) await network.startOperator(name, LONG);
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

function start(userId: string, maxNewTokens: number) {
  return network.client.workflow.start('inferenceWorkflow', {
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowId: `request-${randomUUID()}`,
    args: [{ userId, model: TEST_MODEL, messages, maxNewTokens } satisfies InferenceWorkflowInput],
  });
}

/** The operator (name and entry) whose worker holds the given identity. */
function operatorWithIdentity(identity: string) {
  const found = [...network.operators.entries()].find(([, op]) => workerIdentity(op.process.child.pid) === identity);
  if (!found) throw new Error(`no operator process has worker identity ${identity}`);
  return { name: found[0], ...found[1] };
}

/** Restarts operators this file expects, if a test stopped them. */
async function ensureOperators(): Promise<void> {
  for (const name of NAMES) if (!network.operators.has(name)) await network.startOperator(name, LONG);
}

async function admitted(handle: WorkflowHandle): Promise<boolean> {
  const description = await handle.describe();
  if (description.status.name !== 'RUNNING') return true; // refused (or done): past step 02 either way
  return ((await handle.query('status')) as RequestStatus).requestId !== null;
}

test('20 concurrent requests on a balance covering 10: exactly 10 run, the balance never goes negative', async () => {
  await ensureOperators();
  const userId = `user-${randomUUID()}`;
  const maxNewTokens = 400;
  const maxCost = 16 + Buffer.byteLength(messages[0]!.content) + 16 + maxNewTokens * 2;
  await network.fund(userId, maxCost * 10);
  // The chain frozen (SIGSTOP) while the 20 are admitted: nothing can anchor, so no settle can release unused
  // credits before every admission is decided. Anchoring retries until the chain answers again.
  const chain = -network.anvil.pid; // anvil's process group (its orphan guard and anvil)
  process.kill(chain, 'SIGSTOP');
  let handles: WorkflowHandle[] = [];
  try {
    handles = await Promise.all(Array.from({ length: 20 }, () => start(userId, maxNewTokens)));
    await waitFor('every admission decided', async () => ((await Promise.all(handles.map(admitted))).every(Boolean) ? true : undefined), 60_000, 200);
    expect(await getBalance(network.db, userId)).toEqual({ balance: 0n, held: BigInt(maxCost * 10) });
  } finally {
    process.kill(chain, 'SIGCONT');
  }
  const outcomes = await Promise.all(handles.map((h) => h.result().then((r: InferenceResult) => r, (e: unknown) => e)));
  const completed = outcomes.filter((o): o is InferenceResult => !(o instanceof Error));
  const refused = outcomes.filter((o) => o instanceof WorkflowFailedError);
  expect(completed).toHaveLength(10);
  expect(refused).toHaveLength(10);
  for (const error of refused) expect(((error as WorkflowFailedError).cause as ApplicationFailure).type).toBe('INSUFFICIENT_CREDITS');
  const charged = completed.reduce((sum, r) => sum + r.creditsCharged, 0);
  expect(await getBalance(network.db, userId)).toEqual({ balance: BigInt(maxCost * 10 - charged), held: 0n });
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(10);
}, 240_000);

test('a node killed mid-inference: its dispatch times out, the request is re-matched to another node and completes', async () => {
  await ensureOperators();
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  const handle = await start(userId, 1500);
  const running = await waitForStartedDispatch(handle);
  const victim = operatorWithIdentity(running.workerIdentity);
  victim.process.child.kill('SIGKILL');
  await victim.process.exited;
  network.operators.delete(victim.name);
  const killedAt = Date.now();
  try {
    const result = (await handle.result()) as InferenceResult;
    expect(result.nodeId).not.toBe(victim.nodeId);
    expect(result.usage.outputTokens).toBe(1500);
    const status = (await handle.query('status')) as RequestStatus;
    expect(status.triedNodeIds).toEqual([victim.nodeId, result.nodeId]);
    // The kill hit the dispatch while it ran: it ended by heartbeat timeout, after the kill, never completed.
    const events = (await handle.fetchHistory()).events ?? [];
    const timedOut = events.filter((e) => e.activityTaskTimedOutEventAttributes);
    expect(timedOut).toHaveLength(1);
    expect(eventTime(timedOut[0]!)).toBeGreaterThanOrEqual(killedAt - 1000);
    const completions = events.filter((e) => e.activityTaskCompletedEventAttributes);
    expect(completions.map((e) => e.activityTaskCompletedEventAttributes?.identity)).not.toContain(running.workerIdentity);
    expect(await network.db.rewardLedgerEntry.count({ where: { requestId: result.requestId } })).toBe(1);
  } finally {
    await ensureOperators();
  }
}, 180_000);

test('the coordinator process killed (SIGKILL) mid-run: a restarted process does the remaining steps, exactly once', async () => {
  await ensureOperators();
  // The in-process coordinator steps aside; a real `parallelix coordinator` process takes over and is killed.
  await network.coordinator.stop();
  const env = {
    ...network.cliEnv(),
    PARALLELIX_CHAIN_PRIVATE_KEY: ANVIL_DEPLOYER_PRIVATE_KEY,
    PARALLELIX_SAMPLE_PROBABILITY: '0',
    PARALLELIX_DISPATCH_HEARTBEAT_SECONDS: '120',
  };
  const first = spawnCli(['coordinator'], env);
  let second: ReturnType<typeof spawnCli> | undefined;
  let frozen: ReturnType<typeof operatorWithIdentity> | undefined;
  try {
    await first.waitFor('coordinator ready');
    const userId = `user-${randomUUID()}`;
    await network.fund(userId, 1_000_000);
    const handle = await start(userId, 1500);
    // Mid-run by construction: the node is frozen while it generates, so steps 10–14 cannot have run.
    const running = await waitForStartedDispatch(handle);
    frozen = operatorWithIdentity(running.workerIdentity);
    frozen.process.child.kill('SIGSTOP');
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const { db } = network;
    const row = await db.inferenceRequest.findUniqueOrThrow({ where: { workflowId: handle.workflowId } });
    expect(row.status).toBe('DISPATCHED');
    expect(await db.executionRecord.count({ where: { requestId: row.requestId } })).toBe(0);

    second = spawnCli(['coordinator'], env);
    await second.waitFor('coordinator ready');
    frozen.process.child.kill('SIGCONT');
    frozen = undefined;
    const result = (await handle.result()) as InferenceResult;

    // The first process ran steps 01–04; the second verified, anchored and settled.
    const events = (await handle.fetchHistory()).events ?? [];
    const firstId = workerIdentity(first.child.pid);
    const secondId = workerIdentity(second.child.pid);
    expect(identityThatRecorded(events, '02 Admit')).toBe(firstId);
    for (const step of ['10 Verify sig', '12 Anchor', '14 Settle']) expect([step, identityThatRecorded(events, step)]).toEqual([step, secondId]);
    const dispatched = events.find((e) => e.activityTaskCompletedEventAttributes);
    expect(eventTime(dispatched!)).toBeGreaterThanOrEqual(killedAt - 1000);

    expect(await db.creditLedgerEntry.count({ where: { requestId: result.requestId, kind: 'CAPTURE' } })).toBe(1);
    expect(await db.rewardLedgerEntry.count({ where: { requestId: result.requestId } })).toBe(1);
    expect(await db.executionRecord.count({ where: { requestId: result.requestId } })).toBe(1);
    const balance = await getBalance(db, userId);
    expect(balance).toEqual({ balance: BigInt(1_000_000 - result.creditsCharged), held: 0n });
  } finally {
    frozen?.process.child.kill('SIGCONT');
    first.child.kill('SIGKILL');
    second?.child.kill('SIGINT');
    await Promise.all([first.exited, second?.exited]);
    await network.restartCoordinator();
  }
}, 240_000);
