/**
 * The invariants `npm run chaos` checks once every run has closed, each from the system of record that owns it:
 * Temporal (every run ended, typed; no plaintext in any history), PostgreSQL (ledger conservation, no hold left,
 * one capture and one reward per completed request and none for failed ones, the dishonest node never paid) and
 * the chain (one record per completed request, every reward after its record, no record of a released request).
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Hex } from 'viem';
import { executionRegistryAbi } from '../src/chain/abi.js';
import { createReadClient } from '../src/chain/clients.js';
import { idToBytes32 } from '../src/chain/record.js';
import { FailureType } from '../src/protocol/failures.js';
import { ANCHOR_WAITING_STEP, type InferenceResult } from '../src/protocol/inference.js';
import { scanHistoryForPlaintext } from '../test/helpers/history.js';
import type { TestNetwork } from '../test/helpers/network.js';

/** What one client saw of one request. */
export interface Outcome {
  via: 'sdk' | 'gateway';
  phase: string;
  /** Known for SDK requests; gateway runs are found by their user. */
  workflowId: string | null;
  /** The prompt: it must never be in clear in any history. */
  secret: string;
  status: 'completed' | 'failed' | 'disconnected' | 'not-submitted';
  errorType?: string;
  requestId?: string;
  text?: string;
  ms: number;
}

export interface InvariantInput {
  network: TestNetwork;
  temporal: Client;
  outcomes: Outcome[];
  dishonestNodeId: string;
  users: string[];
  topUpsPerUser: number;
  closeTimeoutMs: number;
  /** Chain outages injected: each must have made at least one run wait for the chain. */
  chainOutages: number;
  progress: (message: string) => void;
}

export interface InvariantReport {
  summary: {
    runs: { total: number; completed: number; failed: number; failedByType: Record<string, number>; other: number; waitedForChain: number };
    clients: Record<string, number>;
    checks: Record<string, { ok: boolean; detail: string }>;
  };
  violations: string[];
}

/** The typed outcomes a request may fail with; anything else (an internal error's class) is a fault that leaked. */
const DOMAIN_FAILURES = new Set<string>([
  FailureType.INVALID_INPUT,
  FailureType.PROMPT_TOO_LONG,
  FailureType.MAX_NEW_TOKENS_EXCEEDED,
  FailureType.REQUEST_NOT_AUTHENTIC,
  FailureType.INSUFFICIENT_CREDITS,
  FailureType.NO_CAPABLE_NODE,
  FailureType.ALL_NODES_FAILED,
  FailureType.COORDINATOR_KEY_MISMATCH,
  FailureType.NO_MAJORITY,
  FailureType.DISPUTE_UNRESOLVED,
  FailureType.CHAIN_NOT_ANCHORER,
  FailureType.CHAIN_ANCHOR_CONFLICT,
  FailureType.CHAIN_INVALID_RECORD,
  FailureType.CHAIN_REGISTRY_MISSING,
]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether the run's PipelineStep ever read the anchor's waiting step. */
function waitedInHistory(history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>): boolean {
  return (history.events ?? []).some((e) => {
    const data = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.PipelineStep?.data;
    return data ? Buffer.from(data).toString('utf8') === JSON.stringify(ANCHOR_WAITING_STEP) : false;
  });
}

async function retrying<T>(what: string, fn: () => Promise<T>, attempts = 30): Promise<T> {
  for (let i = 1; ; i += 1) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts) throw new Error(`${what}: ${(error as Error).message}`);
      await sleep(1_000);
    }
  }
}

interface Run {
  workflowId: string;
  status: string;
  result?: InferenceResult;
  failureType?: string;
}

export async function checkInvariants(input: InvariantInput): Promise<InvariantReport> {
  const { network, temporal, progress } = input;
  const violations: string[] = [];
  const checks: InvariantReport['summary']['checks'] = {};
  const check = (name: string, problems: string[], detail: string): void => {
    checks[name] = { ok: problems.length === 0, detail: problems.length === 0 ? detail : `${problems.length} problem(s)` };
    for (const p of problems) violations.push(`${name}: ${p}`);
  };
  // The network's codec holds the coordinator's box key too: operators seal their heartbeat details to it.
  const codec = network.codec;
  const { Client: TemporalClient } = await import('@temporalio/client');
  const decoding = new TemporalClient({ connection: temporal.connection, namespace: temporal.options.namespace, dataConverter: { payloadCodecs: [codec] } });

  // 1. Every run closes.
  const deadline = Date.now() + input.closeTimeoutMs;
  for (;;) {
    const open = await retrying('count open runs', async () => (await temporal.workflow.count('WorkflowType = "inferenceWorkflow" AND ExecutionStatus = "Running"')).count);
    if (open === 0) break;
    if (Date.now() > deadline) {
      violations.push(`runs closed: ${open} run(s) still open after ${input.closeTimeoutMs / 1000} s`);
      break;
    }
    progress(`${open} run(s) still open`);
    await sleep(5_000);
  }
  const runs: Run[] = [];
  await retrying('list runs', async () => {
    runs.length = 0;
    for await (const execution of decoding.workflow.list({ query: 'WorkflowType = "inferenceWorkflow"' })) runs.push({ workflowId: execution.workflowId, status: execution.status.name });
  });
  for (const run of runs) {
    if (run.status === 'COMPLETED') run.result = (await retrying('result', () => decoding.workflow.getHandle(run.workflowId).result())) as InferenceResult;
    if (run.status === 'FAILED') {
      const error = await retrying('failure', () => decoding.workflow.getHandle(run.workflowId).result().then(() => undefined, (e: unknown) => e));
      const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
      run.failureType = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
    }
  }
  const completed = runs.filter((r) => r.status === 'COMPLETED');
  const failed = runs.filter((r) => r.status === 'FAILED');
  const failedByType: Record<string, number> = {};
  for (const r of failed) failedByType[r.failureType ?? 'untyped'] = (failedByType[r.failureType ?? 'untyped'] ?? 0) + 1;
  const known = new Set(runs.map((r) => r.workflowId));
  check('every submitted request ended: completed, or failed with a typed request outcome', [
    ...runs.filter((r) => r.status !== 'COMPLETED' && r.status !== 'FAILED').map((r) => `${r.workflowId} ended ${r.status}`),
    ...failed.filter((r) => !r.failureType || !DOMAIN_FAILURES.has(r.failureType)).map((r) => `${r.workflowId} failed with ${r.failureType ?? 'no type'}, not a request outcome`),
    ...input.outcomes.filter((o) => o.workflowId && !known.has(o.workflowId)).map((o) => `${o.workflowId} was submitted but has no run`),
  ], `${completed.length} completed, ${failed.length} failed typed`);

  // 2. The ledger (PostgreSQL).
  const db = network.db;
  const sum = async (kind: 'TOPUP' | 'CAPTURE' | 'HOLD' | 'RELEASE'): Promise<bigint> => (await db.creditLedgerEntry.aggregate({ where: { kind }, _sum: { amount: true } }))._sum.amount ?? 0n;
  const [topups, captured, users, heldHolds] = await Promise.all([
    sum('TOPUP'),
    sum('CAPTURE'),
    db.user.aggregate({ _sum: { balance: true, held: true } }),
    db.creditHold.count({ where: { status: 'HELD' } }),
  ]);
  const balances = users._sum.balance ?? 0n;
  const held = users._sum.held ?? 0n;
  const expectedTopups = BigInt(input.topUpsPerUser * input.users.length);
  check('ledger conservation: Σ top-ups = Σ balances + Σ captured, no HELD hold left', [
    ...(topups === balances + captured ? [] : [`top-ups ${topups} ≠ balances ${balances} + captured ${captured} (difference ${topups - balances - captured})`]),
    ...(topups === expectedTopups ? [] : [`top-ups ${topups}, expected ${expectedTopups}`]),
    ...(held === 0n ? [] : [`${held} credits still held`]),
    ...(heldHolds === 0 ? [] : [`${heldHolds} hold(s) still HELD`]),
  ], `top-ups ${topups} = balances ${balances} + captured ${captured}`);

  const requests = await db.inferenceRequest.findMany({ select: { requestId: true, workflowId: true, status: true, nodeId: true } });
  const byWorkflow = new Map(requests.map((r) => [r.workflowId, r]));
  const entries = await db.creditLedgerEntry.findMany({ where: { kind: { in: ['CAPTURE', 'RELEASE'] } }, select: { requestId: true, kind: true } });
  const rewards = await db.rewardLedgerEntry.findMany({ select: { requestId: true, nodeId: true, kind: true, createdAt: true } });
  const records = await db.executionRecord.findMany({ select: { requestId: true, anchoredAt: true } });
  const count = <T extends { requestId: string | null }>(rows: T[], filter: (row: T) => boolean): Map<string, number> => {
    const m = new Map<string, number>();
    for (const row of rows) if (row.requestId && filter(row)) m.set(row.requestId, (m.get(row.requestId) ?? 0) + 1);
    return m;
  };
  const captures = count(entries, (e) => e.kind === 'CAPTURE');
  const executionRewards = count(rewards, (r) => r.kind === 'EXECUTION');
  const anyRewards = count(rewards, () => true);
  const completedIds = new Set<string>();
  const moneyProblems: string[] = [];
  for (const run of completed) {
    const id = run.result!.requestId;
    completedIds.add(id);
    if ((captures.get(id) ?? 0) !== 1) moneyProblems.push(`${id}: ${captures.get(id) ?? 0} captures`);
    if ((executionRewards.get(id) ?? 0) !== 1) moneyProblems.push(`${id}: ${executionRewards.get(id) ?? 0} execution rewards`);
    if (byWorkflow.get(run.workflowId)?.status !== 'SETTLED') moneyProblems.push(`${id}: request row ${byWorkflow.get(run.workflowId)?.status ?? 'missing'}`);
  }
  const failedIds: string[] = [];
  for (const run of failed) {
    const row = byWorkflow.get(run.workflowId);
    if (!row) continue; // refused before admission: nothing held
    failedIds.push(row.requestId);
    if (captures.has(row.requestId)) moneyProblems.push(`${row.requestId} failed but was captured`);
    if (anyRewards.has(row.requestId)) moneyProblems.push(`${row.requestId} failed but rewarded a node`);
  }
  check('exactly one capture and one reward per completed request, none for failed ones', moneyProblems, `${completed.length} completed × 1 capture, 1 reward; ${failedIds.length} failed admitted: none`);

  // It forges the signature of every result it returns: any execution reward would pay a falsified result. Its score
  // reports (tolerant checks of others' answers) are honest work, paid as verification.
  const dishonestRewards = rewards.filter((r) => r.nodeId === input.dishonestNodeId);
  const dishonestPenalties = await db.nodePenalty.count({ where: { nodeId: input.dishonestNodeId } });
  check(
    'the dishonest operator was never paid for a result it falsified',
    dishonestRewards.filter((r) => r.kind === 'EXECUTION').map((r) => `execution reward for ${r.requestId}`),
    `0 execution rewards, ${dishonestPenalties} penalties, ${dishonestRewards.filter((r) => r.kind === 'VERIFICATION').length} verification rewards for honest scoring`,
  );

  // 3. The chain.
  const chain = createReadClient(network.anvil.rpcUrl, network.anvil.chainId);
  const logs = await retrying('read anchoring events', () =>
    chain.getContractEvents({ address: network.registryAddress, abi: executionRegistryAbi, eventName: 'ExecutionAnchored', fromBlock: 0n, toBlock: 'latest' }),
  );
  const onChain = new Map<Hex, number>();
  for (const log of logs) {
    const key = (log.args as { requestId?: Hex }).requestId;
    if (key) onChain.set(key.toLowerCase() as Hex, (onChain.get(key.toLowerCase() as Hex) ?? 0) + 1);
  }
  const keyOf = (id: string): Hex => idToBytes32(id).toLowerCase() as Hex;
  const completedKeys = new Set([...completedIds].map(keyOf));
  const anchoredAt = new Map(records.map((r) => [r.requestId, r.anchoredAt]));
  const chainProblems: string[] = [];
  for (const id of completedIds) {
    const events = onChain.get(keyOf(id)) ?? 0;
    if (events !== 1) {
      // Tell a record the chain lost from an event log anvil failed to restore: the registry's storage says.
      const stored = events === 0 ? await retrying('read a record', () => network.readOnChain(id)) : null;
      chainProblems.push(`${id}: ${events} anchoring events on chain${events === 0 ? (stored ? ' (the record is in the registry\'s storage: its event was lost)' : ', no record in storage either') : ''}`);
    }
    const at = anchoredAt.get(id);
    for (const reward of rewards.filter((r) => r.requestId === id)) {
      if (!at || reward.createdAt < at) chainProblems.push(`${id}: reward to ${reward.nodeId} before its record`);
    }
  }
  for (const [key, n] of onChain) if (!completedKeys.has(key)) chainProblems.push(`record ${key} (${n}) on chain for a request that did not complete`);
  check('one on-chain record per completed request, every reward after it, none for a released request', chainProblems, `${logs.length} records for ${completedIds.size} completed requests`);

  // 4. No plaintext in any history.
  const gatewayUser = input.users[input.users.length - 1]!;
  const gatewaySecrets = input.outcomes.filter((o) => o.via === 'gateway').map((o) => o.secret);
  const secretsOf = new Map(input.outcomes.filter((o) => o.workflowId).map((o) => [o.workflowId!, o]));
  const plaintextProblems: string[] = [];
  let scanned = 0;
  let waitedForChain = 0;
  const gatewayUserId = (await db.user.findUnique({ where: { externalId: gatewayUser }, select: { id: true } }))?.id;
  const gatewayWorkflows = new Set((await db.inferenceRequest.findMany({ where: { userId: gatewayUserId ?? '00000000-0000-0000-0000-000000000000' }, select: { workflowId: true } })).map((r) => r.workflowId));
  for (const run of runs) {
    const own = secretsOf.get(run.workflowId);
    const text = run.result?.text && run.result.text.length >= 8 ? [run.result.text] : [];
    const secrets = own ? [own.secret, ...text] : gatewayWorkflows.has(run.workflowId) ? [...gatewaySecrets, ...text] : text;
    if (secrets.length === 0) continue;
    const history = await retrying('fetch history', () => temporal.workflow.getHandle(run.workflowId).fetchHistory());
    if (waitedInHistory(history)) waitedForChain += 1;
    const report = await scanHistoryForPlaintext(history, { secrets, codec, expectEncrypted: own ? [own.secret] : [] });
    scanned += 1;
    for (const v of report.violations) plaintextProblems.push(`${run.workflowId}: ${v}`);
  }
  check('no plaintext prompt or result in any history', plaintextProblems, `${scanned} histories scanned`);
  if (input.chainOutages > 0) {
    check('the chain outage outlasted the anchor retries of at least one run, which waited and completed', waitedForChain > 0 ? [] : ['no run waited for the chain'], `${waitedForChain} run(s) waited for the chain`);
  }

  const clients: Record<string, number> = {};
  for (const o of input.outcomes) clients[`${o.via} ${o.status}`] = (clients[`${o.via} ${o.status}`] ?? 0) + 1;
  return {
    summary: { runs: { total: runs.length, completed: completed.length, failed: failed.length, failedByType, other: runs.length - completed.length - failed.length, waitedForChain }, clients, checks },
    violations,
  };
}
