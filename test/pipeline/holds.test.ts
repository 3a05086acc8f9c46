/**
 * No leaked holds (issue 10, test f). Runs are driven to a pipeline step and held there by a real fault: a row or
 * table lock taken by another PostgreSQL session (02 Admit, 03 Match, 04 Encrypt, 10 Verify, 11 Sample's record,
 * 12 Anchor's database write after the record landed on chain), operator processes frozen with SIGSTOP (05
 * queued, 06–09 running on the node) or the chain frozen (12 Anchor). Each held run is cancelled or terminated
 * there; then the coordinator process's hold sweeper runs. Afterwards no hold is HELD, every balance is exact
 * (funded minus what was captured, the capture being the metered cost of what was delivered), nothing anchored was
 * released, and the sweeper's metrics count what it released.
 *
 * 13 Return and 14 Settle cannot be held from outside (they follow the anchor's database write within one
 * workflow task): a cancel during 12 reaches 13 with the run's scope cancelled, so it takes 13's cancel path; a
 * run terminated after its anchor landed is the sweeper's resume path (reset, then 13 and 14 run).
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import pg from 'pg';
import { actualCost } from '../../src/policy/pricing.js';
import { getBalance } from '../../src/db/credits.js';
import type { InferenceWorkflowInput } from '../../src/protocol/inference.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import { TEST_MODEL, startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { waitFor, waitForStartedDispatch } from '../helpers/observe.js';
import { LONG_GENERATIONS, SEA_STORY } from '../helpers/scenarios.js';
import { codecKeyFile, coordinatorKeyDir } from '../../src/codec/codec-key.js';


// The coordinator process sweeps every second, looks at every hold, and waits 5 s after a run closed.
// Uptime is not at stake here (operators are frozen on purpose): every registered node stays matchable.
const SWEEP_ENV = {
  PARALLELIX_MIN_UPTIME: '0',
  PARALLELIX_HOLD_SWEEP_INTERVAL_SECONDS: '1',
  PARALLELIX_HOLD_SWEEP_MIN_AGE_SECONDS: '0',
  PARALLELIX_HOLD_SWEEP_GRACE_SECONDS: '5',
  // Step 10 is held by a lock on the Node table: its key lookup must read the database, not the process's cache.
  PARALLELIX_NODE_KEY_CACHE_SIZE: '0',
};
const FUNDS = 100_000;

let network: TestNetwork;
let metricsUrl: string;

beforeAll(async () => {
  // 03 is held by a lock on the health samples: every match reads them (no uptime cache).
  network = await startTestNetwork({ policy: { dispatchScheduleToStartSeconds: 120, dispatchHeartbeatSeconds: 30 }, uptimeCacheMs: 0 });
  await network.stopCoordinators();
  metricsUrl = (await network.startCoordinatorProcess(1, SWEEP_ENV)).metricsUrl;
  for (const name of ['holds-a', 'holds-b']) await network.startOperator(name, LONG_GENERATIONS);
}, 300_000);

afterAll(async () => {
  await network?.stop();
}, 120_000);

/** Another PostgreSQL session holding locks until released. */
async function lockSession(sql: string, params: unknown[] = []): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: network.database.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(sql, params);
  let open = true;
  return async () => {
    if (!open) return;
    open = false;
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  };
}

/** Waits until some session is blocked on a lock in a statement touching `table`. */
function waitBlockedOn(table: string): Promise<true> {
  return waitFor(`a statement blocked on ${table}`, async () => {
    const probe = new pg.Client({ connectionString: network.database.url });
    await probe.connect();
    try {
      const { rows } = await probe.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
        [`%"${table}"%`],
      );
      return Number(rows[0]?.n ?? 0) > 0 ? true : undefined;
    } finally {
      await probe.end();
    }
  }, 60_000, 200);
}

function operators(signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const { process: op } of network.operators.values()) op.child.kill(signal);
}

function chain(signal: 'SIGSTOP' | 'SIGCONT'): void {
  process.kill(-network.anvil.pid, signal);
}

/**
 * The run's PipelineStep search attribute. (Not the status query: while a local activity is held, the run's workflow
 * task stays open, heartbeated every few seconds, and a query waits for a gap that never comes; the upserted
 * search attribute is sent with each heartbeat.)
 */
async function pipelineStep(handle: WorkflowHandle): Promise<string | undefined> {
  const value = (await handle.describe()).searchAttributes.PipelineStep?.[0];
  return typeof value === 'string' ? value : undefined;
}

function waitAtStep(handle: WorkflowHandle, wanted: string): Promise<true> {
  return waitFor(`the run at ${wanted}`, async () => ((await pipelineStep(handle)) === wanted ? true : undefined), 60_000, 250);
}

function requestRow(workflowId: string) {
  return network.db.inferenceRequest.findUnique({ where: { workflowId } });
}

/** Steps 06–09 run on the node inside 05's activity: a dispatch started, then the node frozen. */
async function frozenOnNode(handle: WorkflowHandle): Promise<void> {
  await waitForStartedDispatch(handle, 60_000);
  operators('SIGSTOP');
}

interface Case {
  at: string;
  /** Sampled with the exact check (step 11). */
  sampled?: boolean;
  /** The hold after the sweeper: released (nothing charged), captured (the run anchored, so it settles) or either. */
  expect: 'released' | 'captured' | 'released-or-captured';
}

const CASES: Case[] = [
  // Nothing holds a run at 01 (it does no I/O): the cancel or terminate is sent right after the start and lands
  // wherever the run is by then, possibly past the anchor.
  { at: '01 Request', expect: 'released-or-captured' },
  { at: '02 Admit', expect: 'released' },
  { at: '03 Match', expect: 'released' },
  { at: '04 Encrypt', expect: 'released' },
  { at: '05 Dispatch (queued)', expect: 'released' },
  { at: '06–09 on the node', expect: 'released' },
  { at: '10 Verify sig', expect: 'released' },
  { at: '11 Sample', sampled: true, expect: 'released' },
  // Cancelled: anchored and settled. Terminated: whether the anchor of the closed run still lands decides.
  { at: '12 Anchor (chain frozen)', expect: 'released-or-captured' },
  { at: '12 Anchor (on chain, row not written)', expect: 'captured' },
];

/** The run took in the cancel (a workflow task completed after the request), or it closed. */
function cancelTakenIn(handle: WorkflowHandle): Promise<true> {
  return waitFor('the cancel taken in', async () => {
    if ((await handle.describe()).status.name !== 'RUNNING') return true;
    const events = (await handle.fetchHistory()).events ?? [];
    const requested = events.findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes);
    return requested >= 0 && events.slice(requested).some((e) => e.workflowTaskCompletedEventAttributes) ? true : undefined;
  }, 60_000, 250);
}

/** How each case is held (the run is started right after the locks or freezes that must come first). */
async function drive(c: Case, userId: string, start: () => Promise<WorkflowHandle>, releases: Array<() => Promise<void>>): Promise<WorkflowHandle> {
  /** Registers what lets the run go (run by the test however the drive ends). */
  const held = async (release: () => Promise<void>): Promise<void> => {
    releases.push(release);
  };
  switch (c.at) {
    case '01 Request':
      return start();
    case '02 Admit': {
      await held(await lockSession(`SELECT 1 FROM "User" WHERE "externalId" = $1 FOR UPDATE`, [userId]));
      const handle = await start();
      await waitBlockedOn('User');
      await waitAtStep(handle, '02 Admit');
      return handle;
    }
    case '03 Match': {
      // Match reads the nodes' health samples (uptime). (A lock on "Node" would block 02's insert: its foreign key check.)
      await held(await lockSession(`LOCK TABLE "HealthSample" IN ACCESS EXCLUSIVE MODE`));
      const handle = await start();
      await waitFor('the request row', async () => ((await requestRow(handle.workflowId)) ? true : undefined));
      await waitBlockedOn('HealthSample');
      // The first match runs in 02's local activity (FEWER_ACTIVATIONS): the run shows 02 while its 03 waits.
      await waitAtStep(handle, '02 Admit');
      return handle;
    }
    case '04 Encrypt': {
      const unlockSamples = await lockSession(`LOCK TABLE "HealthSample" IN ACCESS EXCLUSIVE MODE`);
      await held(unlockSamples);
      const handle = await start();
      const row = await waitFor('the request row', () => requestRow(handle.workflowId).then((r) => r ?? undefined));
      await held(await lockSession(`SELECT 1 FROM "InferenceRequest" WHERE "requestId" = $1 FOR UPDATE`, [row.requestId]));
      await unlockSamples();
      await waitBlockedOn('InferenceRequest');
      // The first 03 and 04 run in 02's local activity (FEWER_ACTIVATIONS): the run shows 02 while its 04 waits.
      await waitAtStep(handle, '02 Admit');
      return handle;
    }
    case '05 Dispatch (queued)': {
      operators('SIGSTOP');
      await held(async () => operators('SIGCONT'));
      const handle = await start();
      await waitFor('the request dispatched', async () => ((await requestRow(handle.workflowId))?.status === 'DISPATCHED' ? true : undefined));
      await waitAtStep(handle, '05 Dispatch');
      return handle;
    }
    case '06–09 on the node': {
      await held(async () => operators('SIGCONT'));
      const handle = await start();
      await frozenOnNode(handle);
      return handle;
    }
    case '10 Verify sig': {
      await held(async () => operators('SIGCONT'));
      const handle = await start();
      await frozenOnNode(handle);
      await held(await lockSession(`LOCK TABLE "Node" IN ACCESS EXCLUSIVE MODE`));
      operators('SIGCONT');
      await waitBlockedOn('Node');
      await waitAtStep(handle, '10 Verify sig');
      return handle;
    }
    case '11 Sample': {
      await held(async () => operators('SIGCONT'));
      const handle = await start();
      await frozenOnNode(handle);
      const row = (await requestRow(handle.workflowId))!;
      // 11's record waits for the request row; 10 and the sample's re-dispatch do not touch it.
      await held(await lockSession(`SELECT 1 FROM "InferenceRequest" WHERE "requestId" = $1 FOR UPDATE`, [row.requestId]));
      operators('SIGCONT');
      await waitBlockedOn('InferenceRequest');
      await waitAtStep(handle, '11 Sample');
      return handle;
    }
    case '12 Anchor (chain frozen)': {
      await held(async () => operators('SIGCONT'));
      const handle = await start();
      await frozenOnNode(handle);
      chain('SIGSTOP');
      await held(async () => chain('SIGCONT'));
      operators('SIGCONT');
      await waitAtStep(handle, '12 Anchor');
      return handle;
    }
    case '12 Anchor (on chain, row not written)': {
      await held(async () => operators('SIGCONT'));
      const handle = await start();
      await frozenOnNode(handle);
      const row = (await requestRow(handle.workflowId))!;
      await held(await lockSession(`SELECT 1 FROM "InferenceRequest" WHERE "requestId" = $1 FOR UPDATE`, [row.requestId]));
      operators('SIGCONT');
      await waitFor('the record on chain', async () => ((await network.readOnChain(row.requestId)) ? true : undefined), 60_000, 200);
      // The record's row waits for the request row (its foreign key).
      await waitBlockedOn('ExecutionRecord');
      await waitAtStep(handle, '12 Anchor');
      return handle;
    }
    default:
      throw new Error(`no hold for ${c.at}`);
  }
}

interface Ended {
  c: Case;
  how: 'cancel' | 'terminate';
  userId: string;
  handle: WorkflowHandle;
  /** The run that was cancelled or terminated. */
  runId: string;
}

const ended: Ended[] = [];
const HOWS = ['cancel', 'terminate'] as const;

/** Holds one run at case c's point, cancels or terminates it there, and waits for that run to close. */
async function endRunAt(how: (typeof HOWS)[number], c: Case): Promise<void> {
  const userId = `holds-${how}-${randomUUID()}`;
  await network.fund(userId, FUNDS);
  const input: InferenceWorkflowInput = {
    userId,
    model: TEST_MODEL,
    messages: SEA_STORY,
    maxNewTokens: 1500,
    sampleProbability: c.sampled ? 1 : 0,
    ...(c.sampled ? { sampleMode: 'exact' as const } : {}),
  };
  const start = () =>
    network.client.workflow.start('inferenceWorkflow', { taskQueue: COORDINATOR_TASK_QUEUE, workflowId: `holds-${randomUUID()}`, args: [input] });
  const releases: Array<() => Promise<void>> = [];
  let handle: WorkflowHandle;
  let runId: string;
  try {
    handle = await drive(c, userId, start, releases);
    runId = (await handle.describe()).runId;
    // Held until the run took the cancel in, so that it meets it at this step.
    if (how === 'cancel') {
      await handle.cancel();
      await cancelTakenIn(handle);
    } else {
      await handle.terminate('test: terminated mid-step');
    }
  } finally {
    // Let go in reverse order (a lock taken last is released first); a failed drive lets go too.
    for (const release of releases.reverse()) await release();
  }
  ended.push({ c, how, userId, handle, runId });
  // The run itself ends (a cancel once 12 Anchor is under way is too late: that run anchors and settles).
  await waitFor('the run closed', async () => ((await handle.describe()).status.name === 'RUNNING' ? undefined : true), 120_000, 200);
}

describe.each(HOWS)('%s', (how) => {
  test.each(CASES.map((c) => [c.at, c] as const))(`${how} at %s`, (_at, c) => endRunAt(how, c), 300_000);
});

test('after the sweeper: no HELD hold, exact balances, nothing anchored released, and the sweeper counted what it released', async () => {
  // Run alone (-t), this test ends every run itself first; after the cases above, only what none of them ended.
  for (const how of HOWS) for (const c of CASES) if (!ended.some((e) => e.how === how && e.c === c)) await endRunAt(how, c);
  expect(ended).toHaveLength(CASES.length * 2);
  const users = ended.map((e) => e.userId);
  const heldIds = async () => {
    const users_ = await network.db.user.findMany({ where: { externalId: { in: users } }, select: { id: true } });
    return network.db.creditHold.count({ where: { userId: { in: users_.map((u) => u.id) }, status: 'HELD' } });
  };
  await waitFor('no HELD hold left', async () => ((await heldIds()) === 0 ? true : undefined), 120_000, 500);
  // Settlements resumed by the sweeper complete on their new run.
  for (const e of ended) {
    await waitFor(`${e.handle.workflowId} closed`, async () => {
      const latest = await network.client.workflow.getHandle(e.handle.workflowId).describe();
      return latest.status.name === 'RUNNING' ? undefined : true;
    }, 120_000, 500);
  }

  // The new branches' histories: kept as replay fixtures when asked (PARALLELIX_RECORD_HISTORIES=<dir>).
  const dir = process.env.PARALLELIX_RECORD_HISTORIES;
  if (dir) {
    copyFileSync(codecKeyFile(coordinatorKeyDir(network.stateRoot)), path.join(dir, 'release-on-every-exit.codec-key'));
    for (const e of ended) {
      const name = `${e.how}-${e.c.at.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '').toLowerCase()}`;
      writeFileSync(path.join(dir, `release-on-every-exit-${name}.json`), JSON.stringify(await e.handle.fetchHistory()));
    }
  }

  const price = network.policy.price;
  const outcomes: string[] = [];
  for (const e of ended) {
    const user = await network.db.user.findUniqueOrThrow({ where: { externalId: e.userId }, include: { holds: true } });
    const label = `${e.how} at ${e.c.at}`;
    // A terminate races local activities: once the hold point lets go, steps 11–14 run as local activities inside
    // one workflow task, side effects included, before the server refuses that task's completion (the run is
    // terminated). So a run terminated at 10 or 11 may have anchored and settled: either outcome is consistent.
    const expected = e.how === 'terminate' && (e.c.at === '10 Verify sig' || e.c.at === '11 Sample') ? 'released-or-captured' : e.c.expect;
    expect(user.holds.length).toBeLessThanOrEqual(1);
    const hold = user.holds[0];
    const balance = await getBalance(network.db, e.userId);
    if (!hold) {
      // Ended before anything was held (01).
      expect(e.c.at).toBe('01 Request');
      expect(balance).toEqual({ balance: BigInt(FUNDS), held: 0n });
      outcomes.push(`${label}: nothing held`);
      continue;
    }
    const onChain = await network.readOnChain(hold.requestId);
    const row = await network.db.inferenceRequest.findUnique({ where: { requestId: hold.requestId } });
    if (hold.status === 'RELEASED') {
      expect([label, expected]).not.toEqual([label, 'captured']);
      expect(hold.releasedAmount).toBe(hold.amount);
      expect(hold.capturedAmount).toBe(0n);
      // Nothing anchored is ever released.
      expect(onChain).toBeNull();
      expect(balance).toEqual({ balance: BigInt(FUNDS), held: 0n });
    } else {
      expect(hold.status).toBe('CAPTURED');
      expect([label, expected]).not.toEqual([label, 'released']);
      expect(onChain).not.toBeNull();
      expect(row?.status).toBe('SETTLED');
      // The capture is the metered cost of what was delivered, and the rest went back.
      const cost = actualCost(price, { inputTokens: row!.tokensIn!, outputTokens: row!.tokensOut! }, Number(hold.amount));
      expect(hold.capturedAmount).toBe(BigInt(cost));
      expect(hold.releasedAmount).toBe(hold.amount - BigInt(cost));
      expect(balance).toEqual({ balance: BigInt(FUNDS - cost), held: 0n });
    }
    outcomes.push(`${label}: ${hold.status} ${hold.capturedAmount}/${hold.amount}`);
  }
  process.stdout.write(`hold outcomes:\n  ${outcomes.join('\n  ')}\n`);

  // A cancel once the anchor is under way is too late: those runs settle and complete.
  for (const e of ended.filter((x) => x.how === 'cancel' && x.c.at.startsWith('12 '))) {
    expect((await e.handle.describe()).status.name).toBe('COMPLETED');
  }
  // Before the anchor, a cancelled run ends CANCELLED.
  for (const e of ended.filter((x) => x.how === 'cancel' && !x.c.at.startsWith('12 '))) {
    expect((await e.handle.describe()).status.name).toBe('CANCELLED');
  }
  // A run terminated after its anchor landed settles: its anchor's local activity goes on in the worker after the
  // terminate and the steps after it too, or else the sweeper resets the run (parallelix_holds_settlement_resumed_total).
  const terminatedOnChain = ended.find((e) => e.how === 'terminate' && e.c.at === '12 Anchor (on chain, row not written)')!;
  expect((await network.client.workflow.getHandle(terminatedOnChain.handle.workflowId).describe()).status.name).not.toBe('RUNNING');

  // The sweeper's metric counts exactly the holds it released (the others were released by their runs).
  const swept = await network.db.inferenceRequest.findMany({
    where: { userId: { in: (await network.db.user.findMany({ where: { externalId: { in: users } } })).map((u) => u.id) }, failureReason: { endsWith: 'hold released by the sweeper' } },
    select: { requestId: true },
  });
  const sweptHolds = await network.db.creditHold.findMany({ where: { requestId: { in: swept.map((r) => r.requestId) } } });
  expect(sweptHolds.length).toBeGreaterThan(0);
  const text = await (await fetch(metricsUrl)).text();
  const sum = (name: string): number =>
    text.split('\n').filter((line) => line.startsWith(`${name}{`)).reduce((total, line) => total + Number(line.split(' ').pop()), 0);
  expect(sum('parallelix_holds_swept_total')).toBe(sweptHolds.length);
  expect(sum('parallelix_holds_swept_credits_total')).toBe(sweptHolds.reduce((total, h) => total + Number(h.releasedAmount), 0));
  process.stdout.write(`sweeper: released ${sweptHolds.length} hold(s), resumed ${sum('parallelix_holds_settlement_resumed_total')} settlement(s)\n`);
}, 400_000 + CASES.length * 2 * 300_000);
