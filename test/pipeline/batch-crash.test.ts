/**
 * Batched anchoring across a crash (issue 12: "idempotent across retries and crashes"): a coordinator process is
 * SIGKILLed after its batches are mined and before any record's row is written; the restarted coordinator's step 12
 * finds each record's planned batch and gets the original transaction back, so no record is on chain twice. Also:
 * a batch written down but never sent is sent as it was, unless one of its requests was released meanwhile.
 * Real anvil, PostgreSQL, activity and group commit; the first coordinator is a real process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { decodeFunctionData, type Hex } from 'viem';
import { createAdmit } from '../../activities/admit.js';
import { createAnchor, type AnchorInput } from '../../activities/anchor.js';
import { executionRegistryAbi } from '../../src/chain/abi.js';
import { createAnchorGroupCommit } from '../../src/chain/anchor-group-commit.js';
import { ANVIL_DEV_ACCOUNTS, startAnvil, type AnvilHandle } from '../../src/chain/anvil.js';
import { createBatchAnchorer, planBatch } from '../../src/chain/batch-anchoring.js';
import { createChainClients } from '../../src/chain/clients.js';
import { deployRegistry } from '../../src/chain/deploy.js';
import { verifyInclusion, type InclusionProof } from '../../src/chain/merkle.js';
import { packedLeaf, unpackRecords } from '../../src/chain/packed-record.js';
import { idToBytes32 } from '../../src/chain/record.js';
import { createRegistryClient } from '../../src/chain/registry.js';
import { createIdentity, publicIdentity, signPoe } from '../../src/crypto/index.js';
import { recordPlannedBatch } from '../../src/db/anchor-batches.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { topUp } from '../../src/db/credits.js';
import { anchoringState } from '../../src/coordinator/hold-sweeper.js';
import { loadCoordinatorPolicy } from '../../src/policy/coordinator-policy.js';
import { getFreePort } from '../../src/shared/ports.js';
import { projectRoot } from '../../src/shared/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { waitFor } from '../helpers/observe.js';

const owner = ANVIL_DEV_ACCOUNTS[0]!;
const node = createIdentity();
let anvil: AnvilHandle;
let database: TestDatabase;
let db: PrismaClient;
let chain: { rpcUrl: string; chainId: number; privateKey: Hex; address: Hex };
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'px-batch-crash-'));
  anvil = await startAnvil({ port: await getFreePort() });
  const { address } = await deployRegistry({ rpcUrl: anvil.rpcUrl, privateKey: owner.privateKey });
  chain = { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey, address };
  database = await createTestDatabase();
  db = createPrismaClient(database.url, { maxConnections: 4 });
  const id = publicIdentity(node);
  await db.node.create({ data: { nodeId: id.nodeId, signPublicKey: id.signPublicKey, boxPublicKey: id.boxPublicKey, capabilities: {}, lastAnnouncedAt: new Date() } });
}, 120_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Admitted requests (each with its hold) and their records as step 12 gets them. */
async function admitted(count: number): Promise<AnchorInput[]> {
  const userId = `user-${randomUUID()}`;
  await topUp(db, userId, 10_000n, `topup-${userId}`);
  const records: AnchorInput[] = [];
  for (let i = 0; i < count; i += 1) {
    const requestId = randomUUID();
    await createAdmit({ db })({ requestId, workflowId: `request-${requestId}`, userId, model: 'm', maxCost: 100 });
    const poe = randomUUID().replace(/-/g, '').padEnd(64, '7');
    const signature = signPoe(poe, node.sign.secretKey);
    records.push({ requestId, nodeId: node.nodeId, poe, verdict: 'Accepted', sampledNodeId: null, mode: 'none', nodeDevice: 'cpu', sampledNodeDevice: null, check: null, dispute: null, signature });
  }
  return records;
}

/** Every anchorRoot transaction on the chain: its hash, root and the request ids (bytes32) its calldata carries. */
async function batchesOnChain(): Promise<Array<{ txHash: Hex; root: Hex; requestKeys: Hex[] }>> {
  const { publicClient } = createChainClients(chain);
  const events = await publicClient.getContractEvents({ address: chain.address, abi: executionRegistryAbi, eventName: 'BatchAnchored', fromBlock: 0n });
  const out = [];
  for (const e of events) {
    const tx = await publicClient.getTransaction({ hash: e.transactionHash });
    const call = decodeFunctionData({ abi: executionRegistryAbi, data: tx.input });
    out.push({ txHash: e.transactionHash, root: e.args.root!, requestKeys: unpackRecords(call.args[0] as Hex).map((r) => r.args.requestId) });
  }
  return out;
}

/** How many times each record is on chain, over all batches. */
async function timesOnChain(records: AnchorInput[]): Promise<number[]> {
  const keys = (await batchesOnChain()).flatMap((b) => b.requestKeys);
  return records.map((r) => keys.filter((k) => k === idToBytes32(r.requestId)).length);
}

/** A coordinator restarted on the same database and chain: a fresh group commit, the same activity. */
function restartedCoordinator() {
  const anchorBatches = createAnchorGroupCommit(createBatchAnchorer(chain), { maxBatch: 64, beforeSend: (plan) => recordPlannedBatch(db, plan) });
  return createAnchor({ db, registry: createRegistryClient(chain), anchorBatches, policy: { ...loadCoordinatorPolicy({}), anchorBatchMax: 64 } });
}

test('a coordinator SIGKILLed after its batches are mined and before the rows: the restarted one anchors nothing twice', async () => {
  const records = await admitted(6);
  // The request rows are locked, so the first coordinator's step 12 mines its batches and then waits to write rows.
  const lock = new pg.Client({ connectionString: database.url });
  await lock.connect();
  await lock.query('BEGIN');
  await lock.query(`SELECT 1 FROM "InferenceRequest" WHERE "requestId" = ANY($1) FOR UPDATE`, [records.map((r) => r.requestId)]);
  const jobFile = path.join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify({ databaseUrl: database.url, chain, records }));
  let coordinator: ChildProcess | undefined;
  try {
    coordinator = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test', 'fixtures', 'batch-anchoring-coordinator.ts'), jobFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    coordinator.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    coordinator.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('every record on chain', async () => ((await timesOnChain(records)).every((n) => n === 1) ? true : undefined), 120_000, 200);
    // Mid-flight, observed: all on chain, no row written, the process still waiting on the rows.
    expect(await db.executionRecord.count({ where: { requestId: { in: records.map((r) => r.requestId) } } })).toBe(0);
    expect(output).not.toMatch(/anchored 0x/);
    expect(coordinator.exitCode).toBeNull();
    coordinator.kill('SIGKILL');
    await new Promise((resolve) => coordinator!.once('exit', resolve));
  } finally {
    if (coordinator && coordinator.exitCode === null && coordinator.signalCode === null) coordinator.kill('SIGKILL');
    await lock.query('ROLLBACK');
    await lock.end();
  }
  const before = await batchesOnChain();

  // Temporal retries step 12 on the restarted coordinator.
  const anchor = restartedCoordinator();
  const results = await Promise.all(records.map((r) => anchor(r)));
  for (const result of results) {
    expect(result.alreadyAnchored).toBe(true);
    expect(before.map((b) => b.txHash)).toContain(result.txHash);
  }
  expect(await batchesOnChain()).toEqual(before);
  expect(await timesOnChain(records)).toEqual(records.map(() => 1));
  // Each row keeps its batch's root and a proof that leads from its packed record to that root.
  for (const r of records) {
    const row = await db.executionRecord.findUniqueOrThrow({ where: { requestId: r.requestId } });
    const batch = before.find((b) => b.txHash === row.anchorTxHash)!;
    expect(row.batchRoot).toBe(batch.root);
    const proof = row.batchProof as unknown as InclusionProof;
    const { publicClient } = createChainClients(chain);
    const call = decodeFunctionData({ abi: executionRegistryAbi, data: (await publicClient.getTransaction({ hash: batch.txHash })).input });
    const packed = unpackRecords(call.args[0] as Hex).find((p) => p.args.requestId === idToBytes32(r.requestId))!.packed;
    expect(verifyInclusion(packedLeaf(packed), proof)).toBe(true);
  }
}, 240_000);

test('a batch written down but never sent is sent as it was by the first of its records to retry', async () => {
  const records = await admitted(3);
  const plan = planBatch(records.map((r) => ({ ...r, signPublicKey: publicIdentity(node).signPublicKey })));
  await recordPlannedBatch(db, plan);
  expect(await timesOnChain(records)).toEqual([0, 0, 0]);
  const first = await restartedCoordinator()(records[1]!);
  // The whole planned batch went, under its planned root; the others find it.
  expect(await timesOnChain(records)).toEqual([1, 1, 1]);
  expect((await batchesOnChain()).find((b) => b.txHash === first.txHash)?.root).toBe(plan.root);
  const anchor = restartedCoordinator();
  for (const r of [records[0]!, records[2]!]) expect(await anchor(r)).toMatchObject({ txHash: first.txHash, alreadyAnchored: true });
}, 120_000);

test('the sweeper keeps the hold of a request whose planned batch may still land, and resumes it once the batch is on chain', async () => {
  const [lone, ...records] = await admitted(3);
  const plan = planBatch(records.map((r) => ({ ...r, signPublicKey: publicIdentity(node).signPublicKey })));
  await recordPlannedBatch(db, plan);
  const chainView = { db, registry: createRegistryClient(chain), batchOnChain: createAnchorGroupCommit(createBatchAnchorer(chain), { maxBatch: 64 }).isOnChain };
  expect(await anchoringState(chainView, lone!.requestId)).toBe('none');
  // Written down, not on chain: its transaction may be pending, so releasing could leave an anchored record unpaid.
  expect(await anchoringState(chainView, records[0]!.requestId)).toBe('pending');
  expect(await anchoringState({ db }, records[0]!.requestId)).toBe('pending');
  await restartedCoordinator()(records[1]!);
  for (const r of records) expect(await anchoringState(chainView, r.requestId)).toBe('anchored');
}, 120_000);

test('with batching turned off after a restart, a record planned in a batch is still sent in that batch, not alone', async () => {
  const records = await admitted(2);
  const plan = planBatch(records.map((r) => ({ ...r, signPublicKey: publicIdentity(node).signPublicKey })));
  await recordPlannedBatch(db, plan);
  const anchorBatches = createAnchorGroupCommit(createBatchAnchorer(chain), { maxBatch: 1, beforeSend: (p) => recordPlannedBatch(db, p) });
  const unbatched = createAnchor({ db, registry: createRegistryClient(chain), anchorBatches, policy: { ...loadCoordinatorPolicy({}), anchorBatchMax: 0 } });
  const done = await unbatched(records[0]!);
  expect((await batchesOnChain()).find((b) => b.txHash === done.txHash)?.root).toBe(plan.root);
  expect(await timesOnChain(records)).toEqual([1, 1]);
  expect(await createRegistryClient(chain).readRecord(records[0]!.requestId)).toBeNull();
}, 120_000);
