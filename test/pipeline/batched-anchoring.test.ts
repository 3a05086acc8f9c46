/**
 * Batched anchoring end to end: a real network whose coordinator group-commits records under Merkle roots. Every
 * request completes, settles only after its batch is mined, keeps its root and inclusion proof, audits consistent
 * (a real `parallelix audit` process rebuilding the record from the batch transaction's calldata), verifies from the
 * chain alone, and a tampered proof or root in the database is caught by the audit.
 */
import { randomUUID } from 'node:crypto';
import { createReadClient } from '../../src/chain/clients.js';
import { readBatchedRecord } from '../../src/chain/batch-anchoring.js';
import { verifyInclusion, type InclusionProof } from '../../src/chain/merkle.js';
import type { InferenceResult } from '../../src/protocol/inference.js';
import { verifyResult } from '../../src/sdk/verify.js';
import { jsonOutput, runCli } from '../helpers/cli-process.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { runRequest } from '../../bench/pipeline.js';
import type { Hex } from 'viem';

let network: TestNetwork;
let results: InferenceResult[];

interface AuditJson {
  status: string;
  checks: { name: string; outcome: string; detail: string }[];
}

async function audit(id: string): Promise<{ code: number | null; report: AuditJson }> {
  const { code, output } = await runCli(['audit', id, '--json'], { ...network.cliEnv(), PARALLELIX_LOG_LEVEL: 'warn' });
  return { code, report: jsonOutput<AuditJson>(output) };
}

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha', 'beta'], anchorBatchMax: 16 });
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  const options = { userId, count: 6, concurrency: 6, maxNewTokens: 16, sampleProbability: 0 };
  results = (await Promise.all(Array.from({ length: 6 }, (_, i) => runRequest(network, i, options)))).map((r) => r.result);
}, 300_000);

afterAll(async () => {
  await network?.stop();
});

test('every request is anchored in a batch whose root the registry stores, then settled', async () => {
  const client = createReadClient(network.anvil.rpcUrl, network.anvil.chainId);
  for (const result of results) {
    const record = await network.db.executionRecord.findUniqueOrThrow({ where: { requestId: result.requestId } });
    expect(record.anchorTxHash).toBe(result.anchorTx);
    expect(record.batchRoot).toMatch(/^0x[0-9a-f]{64}$/);
    const found = await readBatchedRecord(client, network.registryAddress, result.anchorTx as Hex, result.requestId);
    expect(found?.batch.root).toBe(record.batchRoot);
    expect(verifyInclusion(found!.leaf, record.batchProof as unknown as InclusionProof)).toBe(true);
    // No record of its own in storage: the batch is the only anchor.
    expect(await network.readOnChain(result.requestId)).toBeNull();
    const request = await network.db.inferenceRequest.findUniqueOrThrow({ where: { requestId: result.requestId } });
    expect(request.status).toBe('SETTLED');
    expect(request.settledAt!.getTime()).toBeGreaterThanOrEqual(record.anchoredAt!.getTime());
  }
});

test('verify from the chain alone and audit both accept a batched record', async () => {
  const result = results[0]!;
  const report = await verifyResult(result, { rpcUrl: network.anvil.rpcUrl, chainId: network.anvil.chainId, registryAddress: network.registryAddress });
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  const { code, report: audited } = await audit(result.requestId);
  expect(audited.checks.filter((c) => c.outcome !== 'ok')).toEqual([]);
  expect(audited.checks.map((c) => c.name)).toContain('inclusion proof: database → root on chain');
  expect(code).toBe(0);
});

test('a tampered inclusion proof or batch root in the database is a mismatch', async () => {
  const { requestId } = results[1]!;
  const row = await network.db.executionRecord.findUniqueOrThrow({ where: { requestId } });
  const proof = row.batchProof as unknown as InclusionProof;
  const tampered = { ...proof, steps: proof.steps.length ? proof.steps.map((s, i) => (i === 0 ? { ...s, left: !s.left } : s)) : [{ sibling: row.batchRoot, left: true }] };
  try {
    await network.db.executionRecord.update({ where: { requestId }, data: { batchProof: tampered as never } });
    const { code, report } = await audit(requestId);
    expect(code).toBe(4);
    expect(report.checks.filter((c) => c.outcome === 'mismatch').map((c) => c.name)).toEqual(['inclusion proof: database → root on chain']);
    await network.db.executionRecord.update({ where: { requestId }, data: { batchProof: proof as never, batchRoot: `0x${'ab'.repeat(32)}` } });
    expect((await audit(requestId)).report.checks.filter((c) => c.outcome === 'mismatch').map((c) => c.name)).toEqual(['inclusion proof: database → root on chain']);
  } finally {
    await network.db.executionRecord.update({ where: { requestId }, data: { batchProof: proof as never, batchRoot: row.batchRoot } });
  }
  expect((await audit(requestId)).code).toBe(0);
});
