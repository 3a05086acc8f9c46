/**
 * The network on a real Temporal cluster: the Temporal server (frontend, history, matching, worker) on PostgreSQL
 * with the official schema, two `parallelix coordinator` processes on one task queue, three operator processes.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import proto from '@temporalio/proto';
import { createRegistryClient, ANVIL_DEPLOYER_PRIVATE_KEY } from '../../src/chain/index.js';
import { withDatabase } from '../../src/db/pg-url.js';
import { loadClusterConfig } from '../../src/devstack/cluster/cluster-config.js';
import { loadDevServerConfig } from '../../src/temporal/dev-server-config.js';
import type { InferenceResult } from '../../src/protocol/inference.js';
import { ensureNamespace } from '../../src/temporal/namespace-setup.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';
import { spawnCli } from '../helpers/cli-process.js';
import { testAdminUrl } from '../helpers/database.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { identityThatRecorded } from '../helpers/observe.js';
import { expectConcurrentAdmission, LONG_GENERATIONS, startRequest, waitForDispatch } from '../helpers/scenarios.js';
import type { TestCluster, TestTemporal } from '../helpers/temporal.js';

let network: TestNetwork;
let cluster: TestCluster;

beforeAll(async () => {
  // A cold per-user cache builds the server first (npm test does that before jest; minutes, with progress).
  // Dispatches may queue behind long generations on a loaded machine: this file tests coordinators, not node timeouts.
  network = await startTestNetwork({
    temporal: 'cluster',
    coordinatorProcesses: 2,
    policy: { sampleProbability: 0, dispatchHeartbeatSeconds: 5, dispatchScheduleToStartSeconds: 60 },
  });
  cluster = (network.temporal as TestTemporal<TestCluster>).server;
  for (const name of ['alpha', 'beta', 'gamma']) await network.startOperator(name, { ...LONG_GENERATIONS, PARALLELIX_METRICS_PORT: '0' });
}, 15 * 60_000);

afterAll(async () => {
  await network?.stop();
});

async function query<T extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: withDatabase(testAdminUrl(), database) });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The worker identity (pid@host) that ran each workflow task of a run, in order. */
async function workflowTaskWorkers(workflowId: string): Promise<string[]> {
  const history = await network.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowTaskStartedEventAttributes).map((e) => e.workflowTaskStartedEventAttributes?.identity ?? '');
}

test('the server keeps history and visibility on PostgreSQL with the official schema; namespace setup is idempotent', async () => {
  for (const database of [cluster.databases.default, cluster.databases.visibility]) {
    const [row] = await query<{ curr_version: string }>(database, 'SELECT curr_version FROM schema_version');
    expect(row?.curr_version).toMatch(/^1\.\d+$/);
  }
  const devConfig = loadDevServerConfig();
  const again = await ensureNamespace(network.temporal.connection, {
    namespace: devConfig.namespace,
    retention: loadClusterConfig().retention,
    searchAttributes: devConfig.searchAttributes,
  });
  expect(again).toEqual({ createdNamespace: false, addedSearchAttributes: [] });
  const { customAttributes } = await network.temporal.connection.operatorService.listSearchAttributes({ namespace: devConfig.namespace });
  for (const name of Object.keys(devConfig.searchAttributes)) {
    expect(customAttributes?.[name]).toBe(proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
  }
});

test('happy path: one request through the cluster is anchored once, charged once, and found through SQL visibility', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 100_000);
  const handle = await startRequest(network, userId, 32, FRANCE_MESSAGES);
  const result = (await handle.result()) as InferenceResult;
  expect(result.text).toBe(FRANCE_32_TEXT);

  const registry = createRegistryClient({ rpcUrl: network.anvil.rpcUrl, chainId: network.anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY, address: network.registryAddress });
  const onChain = await registry.readRecord(result.requestId);
  // Anchored from the account of whichever coordinator process ran it, never the owner's.
  expect(network.coordinatorProcesses.map((c) => c.anchorer)).toContain(onChain?.anchorer);
  const { db } = network;
  expect(await db.creditLedgerEntry.count({ where: { requestId: result.requestId, kind: 'CAPTURE' } })).toBe(1);
  expect(await db.rewardLedgerEntry.count({ where: { requestId: result.requestId } })).toBe(1);

  // The run's mutable state is a row of the server's own database, and visibility answers a search-attribute query.
  const executions = await query(cluster.databases.default, 'SELECT 1 FROM executions WHERE workflow_id = $1', [handle.workflowId]);
  expect(executions).toHaveLength(1);
  const found: string[] = [];
  for await (const run of network.client.workflow.list({ query: `RequestId = '${result.requestId}'` })) found.push(run.workflowId);
  expect(found).toEqual([handle.workflowId]);
}, 120_000);

test('20 concurrent requests across two coordinator processes: exactly 10 admitted, each anchored from the account of the process that ran its anchoring', async () => {
  const { handles, completed } = await expectConcurrentAdmission(network);
  const registry = createRegistryClient({ rpcUrl: network.anvil.rpcUrl, chainId: network.anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY, address: network.registryAddress });
  const processOf = (identity: string | undefined) => network.coordinatorProcesses.find((c) => identity?.startsWith(`${c.pid}@`));
  for (const { handle, result } of completed) {
    const events = (await handle.fetchHistory()).events ?? [];
    // 12 runs with 14 in one local activity; after a failed try, on its own.
    const anchoredBy = processOf(identityThatRecorded(events, '12 Anchor · 14 Settle') ?? identityThatRecorded(events, '12 Anchor'));
    expect(anchoredBy).toBeDefined();
    expect((await registry.readRecord(result.requestId))?.anchorer).toBe(anchoredBy!.anchorer);
  }
  // Twenty runs on two pollers of one task queue: both processes took workflow tasks of them.
  const workers = new Set((await Promise.all(handles.map((h) => workflowTaskWorkers(h.workflowId)))).flat().map((id) => processOf(id)?.index));
  expect([...workers].sort()).toEqual(network.coordinatorProcesses.map((c) => c.index).sort());
}, 300_000);

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
}

/** Sum of a metric's samples whose labels include every given pair. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

test('every process serves Prometheus metrics: coordinators (ours and the SDK\'s), operators, gateway, the server', async () => {
  const coordinators = await Promise.all(network.coordinatorProcesses.map((c) => scrape(c.metricsUrl)));
  const all = coordinators.join('\n');
  expect(sample(all, 'parallelix_requests_total', { outcome: 'settled' })).toBe(11);
  expect(sample(all, 'parallelix_requests_total', { outcome: 'refused', failure_type: 'INSUFFICIENT_CREDITS' })).toBe(10);
  expect(sample(all, 'parallelix_verdicts_total', { verdict: 'Accepted' })).toBe(11);
  expect(sample(all, 'parallelix_step_duration_seconds_count', { step: '12 Anchor', outcome: 'ok' })).toBe(11);
  expect(sample(all, 'parallelix_anchor_gas_count')).toBe(11);
  expect(sample(coordinators[0]!, 'parallelix_credit_holds_open')).toBe(0);
  expect(sample(coordinators[0]!, 'parallelix_ledger_captured_total')).toBeGreaterThan(0);
  for (const text of coordinators) expect(text).toMatch(/^temporal_workflow_task_schedule_to_start_latency_bucket\{/m);

  const operatorUrls = [...network.operators.values()].map(({ process }) => /metrics on (\S+)/.exec(process.stdout())?.[1]);
  const operators = await Promise.all(operatorUrls.map((url) => scrape(url!)));
  expect(sample(operators.join('\n'), 'parallelix_operator_inferences_total', { outcome: 'ok' })).toBe(11);
  for (const text of operators) expect(text).toMatch(/^temporal_activity_execution_latency_bucket\{|^temporal_worker_task_slots_available\{/m);

  const gateway = spawnCli(['gateway', '--port', '0'], { ...network.cliEnv(), PARALLELIX_METRICS_PORT: '0' });
  try {
    await gateway.waitFor('metrics on');
    const base = /gateway listening on (http:\S+)/.exec(gateway.output())![1]!;
    expect((await fetch(`${base}/models`)).status).toBe(401);
    const text = await scrape(/metrics on (\S+)/.exec(gateway.output())![1]!);
    expect(sample(text, 'parallelix_http_requests_total', { route: '/v1/models', status: '401' })).toBe(1);
  } finally {
    gateway.child.kill('SIGINT');
    await gateway.exited;
  }
  expect(await scrape(cluster.metricsUrl)).toMatch(/^service_requests\{/m);
}, 120_000);

test('the coordinator running a request is killed (SIGKILL) mid-run: the other finishes it exactly once', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  // A long generation keeps the run in step 05 while its coordinator is killed.
  const handle = await startRequest(network, userId, 1900);
  await waitForDispatch(network, handle.workflowId);
  const [first] = await workflowTaskWorkers(handle.workflowId);
  const victim = network.coordinatorProcesses.find((c) => first?.startsWith(`${c.pid}@`));
  const survivor = network.coordinatorProcesses.find((c) => c !== victim);
  if (!victim || !survivor) throw new Error(`no coordinator process ran the first workflow task (${first})`);
  victim.cli.child.kill('SIGKILL');
  await victim.cli.exited;

  const result = (await handle.result()) as InferenceResult;
  const workers = await workflowTaskWorkers(handle.workflowId);
  expect(workers.at(-1)).toMatch(new RegExp(`^${survivor.pid}@`));
  const history = await handle.fetchHistory();
  const dispatches = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeInference');
  expect(dispatches).toHaveLength(1);

  const { db } = network;
  expect(await db.creditLedgerEntry.count({ where: { requestId: result.requestId, kind: 'CAPTURE' } })).toBe(1);
  expect(await db.rewardLedgerEntry.count({ where: { requestId: result.requestId } })).toBe(1);
  expect(await db.executionRecord.count({ where: { requestId: result.requestId } })).toBe(1);
  const registry = createRegistryClient({ rpcUrl: network.anvil.rpcUrl, chainId: network.anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY, address: network.registryAddress });
  expect((await registry.readRecord(result.requestId))?.anchorer).toBe(survivor.anchorer);

  // Back to two processes: the killed one's account is free again (its claim ended with its database session).
  network.coordinatorProcesses.splice(network.coordinatorProcesses.indexOf(victim), 1);
  const restarted = await network.startCoordinatorProcess(victim.index);
  expect(restarted.anchorer).toBe(victim.anchorer);
}, 300_000);

test('a second coordinator with an anchoring key already in use refuses to start', async () => {
  const [running] = network.coordinatorProcesses;
  const twin = spawnCli(['coordinator'], { ...network.cliEnv(), PARALLELIX_CHAIN_PRIVATE_KEY: running!.privateKey });
  expect(await twin.exited).toBe(2);
  expect(twin.output()).toContain(`anchoring account ${running!.anchorer} is held by another coordinator process`);
}, 60_000);

