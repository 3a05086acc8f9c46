/**
 * Faults injected for real into a running network: operators frozen (SIGSTOP) and killed (SIGKILL), the coordinator
 * process killed mid-run. Each fault is triggered by observed state (a dispatch running on a node), and each test
 * asserts afterwards that the fault hit the run where it meant to. Every test restores what it changed.
 */
import { randomUUID } from 'node:crypto';
import { getBalance } from '../../src/db/credits.js';
import type { InferenceResult, RequestStatus } from '../../src/protocol/inference.js';
import { ANVIL_DEPLOYER_PRIVATE_KEY } from '../../src/chain/index.js';
import { spawnCli } from '../helpers/cli-process.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { eventTime, identityThatRecorded, waitForStartedDispatch, workerIdentity } from '../helpers/observe.js';
import { expectConcurrentAdmission, LONG_GENERATIONS as LONG, startRequest } from '../helpers/scenarios.js';

const NAMES = ['alpha', 'beta', 'gamma'];

let network: TestNetwork;

beforeAll(async () => {
  // Scheduled dispatches wait their turn on a node (10 of them, 400 tokens each): not a node failure, however loaded
  // the machine (as in test/cluster/cluster.test.ts).
  network = await startTestNetwork({ policy: { sampleProbability: 0, dispatchHeartbeatSeconds: 5, dispatchScheduleToStartSeconds: 60 } });
  for (const name of NAMES) await network.startOperator(name, LONG);
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

const start = (userId: string, maxNewTokens: number) => startRequest(network, userId, maxNewTokens);

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

test('20 concurrent requests on a balance covering 10: exactly 10 run, the balance never goes negative', async () => {
  await ensureOperators();
  await expectConcurrentAdmission(network);
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
  await network.stopCoordinators();
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

    // The first process ran steps 01–04 (one local activity: 01 · 02 · 03 · 04); the second verified, then anchored
    // and settled (one local activity: 12 · 13 · 14).
    const events = (await handle.fetchHistory()).events ?? [];
    const firstId = workerIdentity(first.child.pid);
    const secondId = workerIdentity(second.child.pid);
    expect(identityThatRecorded(events, '01 Request · 02 Admit · 03 Match · 04 Encrypt')).toBe(firstId);
    for (const step of ['10 Verify sig', '12 Anchor · 14 Settle']) expect([step, identityThatRecorded(events, step)]).toEqual([step, secondId]);
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
