import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { concatHex, parseEventLogs, size, type Address } from 'viem';
import { executionRegistryAbi } from '../../src/chain/abi.js';
import { ANVIL_DEV_ACCOUNTS, startAnvil, type AnvilHandle } from '../../src/chain/anvil.js';
import { createBatchAnchorer, readBatchedRecord, type BatchAnchorer } from '../../src/chain/batch-anchoring.js';
import { createChainClients, createReadClient } from '../../src/chain/clients.js';
import { deployRegistry } from '../../src/chain/deploy.js';
import { verifyInclusion } from '../../src/chain/merkle.js';
import { packedLeaf, packRecord, PACKED_BASE_LENGTH, PACKED_SAMPLED_LENGTH, unpackRecords } from '../../src/chain/packed-record.js';
import { fromChainScore, idToBytes32, toChainRecord, type ExecutionRecordInput } from '../../src/chain/record.js';
import { createRegistryClient } from '../../src/chain/registry.js';
import { createAnchorGroupCommit } from '../../src/chain/anchor-group-commit.js';
import { createIdentity, publicIdentity, signPoe } from '../../src/crypto/index.js';
import { getFreePort } from '../../src/shared/ports.js';
import { InvalidInputError } from '../../src/shared/errors.js';

const [owner, outsider] = ANVIL_DEV_ACCOUNTS as [(typeof ANVIL_DEV_ACCOUNTS)[0], (typeof ANVIL_DEV_ACCOUNTS)[0]];
const signer = createIdentity();
let counter = 0;
const record = (overrides: Partial<ExecutionRecordInput> = {}): ExecutionRecordInput => {
  counter += 1;
  const poe = (counter % 255 + 1).toString(16).padStart(2, '0').repeat(32);
  const sampled = counter % 3 === 0;
  return {
    requestId: `batch-req-${counter}-${Date.now()}`,
    nodeId: publicIdentity(signer).nodeId,
    poe,
    verdict: sampled ? 'AcceptedSampledAgree' : 'Accepted',
    mode: sampled ? 'tolerant' : 'none',
    ...(sampled ? { sampledNodeId: 'node-fedcba9876543210fedcba9876543210fedcba98', check: { positions: 32, failing: 1, longestFailRun: 1, maxGap: 0.0125 } } : {}),
    nodeDevice: 'cpu',
    signPublicKey: publicIdentity(signer).signPublicKey,
    signature: signPoe(poe, signer.sign.secretKey),
    ...overrides,
  };
};

describe('batched anchoring on anvil (Merkle root in storage, records in calldata)', () => {
  let anvil: AnvilHandle;
  let address: Address;
  let anchorer: BatchAnchorer;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'parallelix-batch-test-'));
    anvil = await startAnvil({ port: await getFreePort(), logFile: path.join(tmp, 'anvil.log') });
    address = (await deployRegistry({ rpcUrl: anvil.rpcUrl, privateKey: owner.privateKey })).address;
    anchorer = createBatchAnchorer({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey, address });
  });

  afterAll(async () => {
    await anvil?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the contract stores the root the off-chain tree computes; one event per batch; each record rebuilt from calldata', async () => {
    const records = Array.from({ length: 5 }, () => record());
    const result = await anchorer.anchorBatch(records);
    expect(result.alreadyAnchored).toBe(false);
    const { publicClient } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey });
    const receipt = await publicClient.getTransactionReceipt({ hash: result.txHash });
    const events = parseEventLogs({ abi: executionRegistryAbi, logs: receipt.logs });
    expect(events.map((e) => e.eventName)).toEqual(['BatchAnchored']);
    expect(events[0]!.args).toMatchObject({ root: result.root, anchorer: owner.address, count: 5 });
    expect(await anchorer.readBatch(result.root)).toMatchObject({ root: result.root, count: 5, anchorer: owner.address, blockNumber: Number(result.blockNumber) });
    // No per-record storage: the single-record reader finds nothing, the batch reader finds each record.
    const single = createRegistryClient({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey, address });
    expect(await single.readRecord(records[0]!.requestId)).toBeNull();
    for (const [i, input] of records.entries()) {
      const found = await readBatchedRecord(createReadClient(anvil.rpcUrl, anvil.chainId), address, result.txHash, input.requestId);
      expect(found).not.toBeNull();
      expect(found!.record.requestKey).toBe(idToBytes32(input.requestId));
      expect(found!.record.verdict).toBe(input.verdict);
      expect(found!.record.mode).toBe(input.mode);
      expect(found!.evidence).toMatchObject({ txHash: result.txHash, signPublicKey: input.signPublicKey, signature: input.signature });
      expect(found!.leaf).toBe(packedLeaf(packRecord(toChainRecord(input))));
      // Everything anchored comes back from the packed calldata: node id (derived from the key), scores, devices.
      expect(found!.record.nodeKey).toBe(idToBytes32(input.nodeId));
      expect(found!.record.sampledNodeKey).toBe(toChainRecord(input).sampledNodeId);
      expect(found!.record.check).toEqual(fromChainScore(toChainRecord(input).check));
      expect(result.proofs[i]).toEqual(found!.proof);
      expect(verifyInclusion(found!.leaf, result.proofs[i]!)).toBe(true);
    }
    expect(await readBatchedRecord(createReadClient(anvil.rpcUrl, anvil.chainId), address, result.txHash, 'not-in-this-batch')).toBeNull();
  });

  test('packed records: 164 bytes unsampled, 216 sampled, and back unchanged', () => {
    const records = [record(), record(), record()].map(toChainRecord);
    const packed = records.map(packRecord);
    expect(packed.map(size)).toEqual(records.map((r) => (r.verdict === 1 ? PACKED_BASE_LENGTH : PACKED_SAMPLED_LENGTH)));
    expect(unpackRecords(concatHex(packed)).map((r) => r.args)).toEqual(records);
  });

  test('a retried batch returns the original transaction; the contract refuses the same root twice', async () => {
    const records = [record(), record()];
    const first = await anchorer.anchorBatch(records);
    const again = await anchorer.anchorBatch(records);
    expect(again).toMatchObject({ root: first.root, txHash: first.txHash, alreadyAnchored: true });
    const { publicClient, account } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey });
    await expect(
      publicClient.simulateContract({ account, address, abi: executionRegistryAbi, functionName: 'anchorRoot', args: [concatHex(records.map((r) => packRecord(toChainRecord(r))))] }),
    ).rejects.toThrow(/BatchAlreadyAnchored/);
  });

  test('only anchorers may anchor a batch; an invalid record is refused before sending', async () => {
    const stranger = createBatchAnchorer({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: outsider.privateKey, address });
    await expect(stranger.anchorBatch([record()])).rejects.toThrow(/NotAnchorer|not.*anchor/i);
    expect(() => anchorer.prepare(record({ verdict: 'Accepted', sampledNodeId: 'node-x' }))).toThrow(InvalidInputError);
    // A batch names no node id: it derives from the key, so a record claiming another node cannot be batched.
    expect(() => anchorer.prepare(record({ nodeId: 'node-0123456789abcdef0123456789abcdef01234567' }))).toThrow(/node its signing key derives/);
  });

  test('group commit: a lone record goes at once, alone; records arriving meanwhile share the next transaction', async () => {
    const group = createAnchorGroupCommit(anchorer, { maxBatch: 64 });
    const lone = await group.anchor(record());
    expect(lone.batchSize).toBe(1);
    await new Promise((resolve) => setImmediate(resolve)); // the group is idle once the receipt's turn has ended
    const first = group.anchor(record());
    expect(group.state()).toEqual({ queued: 0, inFlight: true });
    const rest = Array.from({ length: 12 }, () => record());
    const later = rest.map((r) => group.anchor(r));
    expect(group.state().queued).toBe(12);
    // The same request twice shares one attempt.
    expect(group.anchor(rest[0]!)).toBe(later[0]);
    const done = await Promise.all([first, ...later]);
    expect(done[0]!.batchSize).toBe(1);
    const second = done.slice(1);
    expect(new Set(second.map((d) => d.txHash)).size).toBe(1);
    expect(second[0]!.batchSize).toBe(12);
    // Gas per record of the 12-record batch is a fraction of a lone record's.
    expect(Number(second[0]!.batchGasUsed) / 12).toBeLessThan(Number(lone.batchGasUsed) / 3);
    for (const [i, d] of second.entries()) expect(verifyInclusion(packedLeaf(packRecord(toChainRecord(rest[i]!))), d.proof)).toBe(true);
    expect(group.state()).toEqual({ queued: 0, inFlight: false });
  });

  test('group commit: clients released by a receipt join the next batch, so a closed loop does not split into a lone record and the rest', async () => {
    const group = createAnchorGroupCommit(anchorer, { maxBatch: 64 });
    const sizes = new Map<string, number>();
    const client = async (): Promise<void> => {
      for (let i = 0; i < 3; i += 1) {
        const done = await group.anchor(record());
        sizes.set(done.txHash, done.batchSize);
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    // The first record goes alone; its client's next one joins the other seven, and from then on every round is one
    // transaction for all eight (sending at once would alternate 1 and 7).
    expect([...sizes.values()]).toEqual([1, 8, 8, 7]);
  });
});
