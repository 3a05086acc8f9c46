import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEventLogs, type Address, type Hex } from 'viem';
import { executionRegistryAbi } from '../../src/chain/abi.js';
import { ANVIL_DEV_ACCOUNTS, startAnvil, type AnvilHandle } from '../../src/chain/anvil.js';
import { getFreePort } from '../../src/shared/ports.js';
import { createChainClients, revertOf } from '../../src/chain/clients.js';
import { deployRegistry } from '../../src/chain/deploy.js';
import {
  AnchorConflictError,
  ChainUnavailableError,
  InvalidRecordError,
  NotAuthorisedAnchorerError,
  NotRegistryOwnerError,
} from '../../src/chain/errors.js';
import { idToBytes32, toChainRecord, ZERO_BYTES32, type ChainRecordArgs, type ExecutionRecordInput } from '../../src/chain/record.js';
import { createRegistryClient, createRegistryReader, type RegistryClient } from '../../src/chain/registry.js';
import { createIdentity, publicIdentity, signPoe, toHex } from '../../src/crypto/index.js';

const [owner, outsider, third] = ANVIL_DEV_ACCOUNTS as [typeof ANVIL_DEV_ACCOUNTS[0], typeof ANVIL_DEV_ACCOUNTS[0], typeof ANVIL_DEV_ACCOUNTS[0]];
const poe = (n: number): string => n.toString(16).padStart(2, '0').repeat(32);
let counter = 0;
const signer = createIdentity();
const record = (overrides: Partial<ExecutionRecordInput> = {}): ExecutionRecordInput => {
  const value = poe(++counter);
  const verdict = overrides.verdict ?? 'Accepted';
  return {
    requestId: `req-${counter}-${Date.now()}`,
    nodeId: 'node-0123456789abcdef0123456789abcdef01234567',
    poe: value,
    verdict,
    mode: verdict === 'Accepted' ? 'none' : 'tolerant',
    nodeDevice: 'cpu',
    signPublicKey: publicIdentity(signer).signPublicKey,
    signature: signPoe(value, signer.sign.secretKey),
    ...overrides,
  };
};
const zeroScore = { positions: 0, failing: 0, longestFailRun: 0, maxGap: 0 };

describe('ExecutionRegistry on anvil', () => {
  let anvil: AnvilHandle;
  let address: Address;
  let registry: RegistryClient;
  let tmp: string;
  const gas: Record<string, bigint> = {};

  const clientFor = (privateKey: Hex): RegistryClient =>
    createRegistryClient({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey, address });

  /** Call anchor() directly, bypassing the idempotent client. */
  async function anchorDirect(input: ExecutionRecordInput, privateKey: Hex = owner.privateKey): Promise<Hex> {
    const { publicClient, walletClient, account } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey });
    const { request } = await publicClient.simulateContract({
      account,
      address,
      abi: executionRegistryAbi,
      functionName: 'anchor',
      args: [toChainRecord(input)],
    });
    return walletClient.writeContract(request);
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'parallelix-registry-test-'));
    anvil = await startAnvil({ port: await getFreePort(), logFile: path.join(tmp, 'anvil.log') });
    const deployed = await deployRegistry({ rpcUrl: anvil.rpcUrl, privateKey: owner.privateKey });
    gas.deploy = deployed.gasUsed;
    address = deployed.address;
    registry = clientFor(owner.privateKey);
  });

  afterAll(async () => {
    await anvil?.stop();
    rmSync(tmp, { recursive: true, force: true });
    console.log(`gas used: ${Object.entries(gas).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  });

  test('verify passes on the deployed registry and fails on an empty address', async () => {
    await expect(registry.verify()).resolves.toBeUndefined();
    await expect(createRegistryClient({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey, address: third.address }).verify()).rejects.toThrow('no contract code');
  });

  test('anchors a record, reads it back equal, and emits ExecutionAnchored', async () => {
    const input = record();
    expect(await registry.isAnchored(input.requestId)).toBe(false);
    expect(await registry.readRecord(input.requestId)).toBeNull();

    const result = await registry.anchorRecord(input);
    gas.anchorAccepted = result.gasUsed;
    expect(result.alreadyAnchored).toBe(false);
    expect(result.requestKey).toBe(idToBytes32(input.requestId));

    const stored = await registry.readRecord(input.requestId);
    const block = await createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey }).publicClient.getBlock({ blockNumber: result.blockNumber });
    expect(stored).toEqual({
      requestKey: idToBytes32(input.requestId),
      nodeKey: idToBytes32(input.nodeId),
      poe: `0x${input.poe}`,
      verdict: 'Accepted',
      verdictCode: 1,
      sampledNodeKey: ZERO_BYTES32,
      mode: 'none',
      nodeDevice: 'cpu',
      sampledNodeDevice: 'unknown',
      check: zeroScore,
      dispute: zeroScore,
      timestamp: Number(block.timestamp),
      blockNumber: Number(result.blockNumber),
      anchorer: owner.address,
    });
    // The key and the signature travel in the event: a reader without any key finds them.
    const reader = createRegistryReader({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, address });
    expect(await reader.readEvidence(stored!)).toEqual({ txHash: result.txHash, signPublicKey: input.signPublicKey, signature: input.signature, mode: 'none' });
    expect(await registry.isAnchored(input.requestId)).toBe(true);

    const { publicClient } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey });
    const receipt = await publicClient.getTransactionReceipt({ hash: result.txHash });
    const events = parseEventLogs({ abi: executionRegistryAbi, logs: receipt.logs, eventName: 'ExecutionAnchored' });
    expect(events).toHaveLength(1);
    expect(events[0]!.args).toEqual({
      requestId: idToBytes32(input.requestId),
      nodeId: idToBytes32(input.nodeId),
      poe: `0x${input.poe}`,
      verdict: 1,
      sampledNodeId: ZERO_BYTES32,
      mode: 0,
      nodeSignKey: `0x${toHex(signer.sign.publicKey)}`,
      signature: toChainRecord(input).signature,
    });
  });

  test('sampled verdicts store the sampled node, the mode, both devices and the scores', async () => {
    const check = { positions: 32, failing: 2, longestFailRun: 1, maxGap: 0.8125 };
    const dispute = { positions: 32, failing: 0, longestFailRun: 0, maxGap: 0.0312 };
    const input = record({ verdict: 'AcceptedDisputeUpheld', sampledNodeId: 'node-sampled', sampledNodeDevice: 'webgpu', check, dispute });
    const result = await registry.anchorRecord(input);
    gas.anchorSampled = result.gasUsed;
    expect(await registry.readRecord(input.requestId)).toMatchObject({
      verdict: 'AcceptedDisputeUpheld',
      verdictCode: 3,
      sampledNodeKey: idToBytes32('node-sampled'),
      mode: 'tolerant',
      nodeDevice: 'cpu',
      sampledNodeDevice: 'webgpu',
      check: { ...check, maxGap: expect.closeTo(0.8125, 6) as unknown as number },
      dispute: { ...dispute, maxGap: expect.closeTo(0.0312, 6) as unknown as number },
    });
    const exact = record({ verdict: 'AcceptedSampledAgree', sampledNodeId: 'node-sampled', mode: 'exact' });
    await registry.anchorRecord(exact);
    expect((await registry.readRecord(exact.requestId))?.mode).toBe('exact');
  });

  test('the same record with another signature or mode is a conflict', async () => {
    const input = record({ verdict: 'AcceptedSampledAgree', sampledNodeId: 'node-sampled' });
    await registry.anchorRecord(input);
    const other = createIdentity();
    await expect(registry.anchorRecord({ ...input, signature: signPoe(input.poe, other.sign.secretKey) })).rejects.toThrow(AnchorConflictError);
    await expect(registry.anchorRecord({ ...input, mode: 'exact' })).rejects.toThrow(AnchorConflictError);
    expect((await registry.anchorRecord(input)).alreadyAnchored).toBe(true);
  });

  test('a duplicate write reverts on chain with AlreadyAnchored; the client retry returns the original tx', async () => {
    const input = record();
    const first = await registry.anchorRecord(input);

    const direct = await anchorDirect(input).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(revertOf(direct)).toEqual({ errorName: 'AlreadyAnchored', args: [idToBytes32(input.requestId)] });

    const retry = await registry.anchorRecord(input);
    expect(retry).toEqual({ ...first, alreadyAnchored: true });

    // A different client (fresh process after a crash) finds the same original transaction.
    const afterCrash = await clientFor(owner.privateKey).anchorRecord(input);
    expect(afterCrash.txHash).toBe(first.txHash);
    expect(afterCrash.alreadyAnchored).toBe(true);
  });

  test('a duplicate transaction mined anyway is reverted by the contract and leaves the record unchanged', async () => {
    const input = record();
    const first = await registry.anchorRecord(input);
    const { publicClient, walletClient } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey });
    const a = toChainRecord({ ...input, poe: poe(99) });
    // Fixed gas skips estimation, so the transaction is mined and reverts on chain.
    const hash = await walletClient.writeContract({
      address,
      abi: executionRegistryAbi,
      functionName: 'anchor',
      args: [a],
      gas: 300_000n,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('reverted');
    expect((await registry.readRecord(input.requestId))?.poe).toBe(`0x${input.poe}`);
    expect((await registry.anchorRecord(input)).txHash).toBe(first.txHash);
  });

  test('a transaction sent by an attempt that crashed before its receipt is found by the retry', async () => {
    const input = record({ verdict: 'MajorityOverruled', sampledNodeId: 'node-j' });
    const sentByCrashedAttempt = await anchorDirect(input);
    const retry = await clientFor(owner.privateKey).anchorRecord(input);
    expect(retry).toMatchObject({ alreadyAnchored: true, txHash: sentByCrashedAttempt });
  });

  test('concurrent anchors of one record write it once', async () => {
    const input = record();
    await registry.addAnchorer(third.address);
    const results = await Promise.all([
      registry.anchorRecord(input),
      registry.anchorRecord(input),
      clientFor(third.privateKey).anchorRecord(input),
    ]);
    // The first two calls share one in-flight attempt; across the two clients exactly one wrote.
    expect(results[1]).toEqual(results[0]);
    expect([results[0]!, results[2]!].filter((r) => !r.alreadyAnchored)).toHaveLength(1);
    expect(new Set(results.map((r) => r.txHash)).size).toBe(1);
    expect(await registry.readRecord(input.requestId)).not.toBeNull();
  });

  test('concurrent anchors of different records all land (nonces are managed)', async () => {
    const inputs = Array.from({ length: 8 }, () => record());
    const results = await Promise.all(inputs.map((i) => registry.anchorRecord(i)));
    expect(results.every((r) => !r.alreadyAnchored)).toBe(true);
    for (const i of inputs) expect(await registry.isAnchored(i.requestId)).toBe(true);
  });

  test('a different record for an anchored request id is a conflict, not a success', async () => {
    const input = record();
    await registry.anchorRecord(input);
    await expect(registry.anchorRecord({ ...input, poe: poe(250) })).rejects.toThrow(AnchorConflictError);
  });

  test('an unauthorised account cannot anchor, until the owner adds it', async () => {
    const outsiderClient = clientFor(outsider.privateKey);
    const input = record();
    await expect(outsiderClient.anchorRecord(input)).rejects.toThrow(NotAuthorisedAnchorerError);
    await expect(outsiderClient.addAnchorer(outsider.address)).rejects.toThrow(NotRegistryOwnerError);
    expect(await registry.isAnchored(input.requestId)).toBe(false);

    await registry.addAnchorer(outsider.address);
    expect(await registry.isAnchorer(outsider.address)).toBe(true);
    const result = await outsiderClient.anchorRecord(input);
    expect(result.alreadyAnchored).toBe(false);
    expect((await registry.readRecord(input.requestId))?.anchorer).toBe(outsider.address);

    await registry.removeAnchorer(outsider.address);
    await expect(outsiderClient.anchorRecord(record())).rejects.toThrow(NotAuthorisedAnchorerError);
  });

  test('the contract itself rejects malformed records', async () => {
    const { publicClient, account } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey });
    const node = idToBytes32('node-x');
    const valid: ChainRecordArgs = toChainRecord(record({ nodeId: 'node-x' }));
    const call = (changes: Partial<ChainRecordArgs>) =>
      publicClient.simulateContract({ account, address, abi: executionRegistryAbi, functionName: 'anchor', args: [{ ...valid, ...changes }] }).then(
        () => 'accepted',
        (err: unknown) => revertOf(err)?.errorName ?? `unexpected: ${String(err)}`,
      );
    expect(await call({ verdict: 0 as 1 })).toBe('InvalidVerdict');
    expect(await call({ verdict: 5 as 1, sampledNodeId: idToBytes32('node-y'), mode: 2 })).toBe('InvalidVerdict');
    expect(await call({ sampledNodeId: idToBytes32('node-y') })).toBe('InvalidRecord');
    expect(await call({ verdict: 2, mode: 2 })).toBe('InvalidRecord');
    expect(await call({ verdict: 3, sampledNodeId: node, mode: 2 })).toBe('InvalidRecord');
    expect(await call({ poe: ZERO_BYTES32 })).toBe('InvalidRecord');
    expect(await call({ mode: 2 })).toBe('InvalidMode');
    expect(await call({ verdict: 2, sampledNodeId: idToBytes32('node-y'), mode: 0 })).toBe('InvalidMode');
    expect(await call({ verdict: 2, sampledNodeId: idToBytes32('node-y'), mode: 3 })).toBe('InvalidMode');
    expect(await call({ signature: `0x${'11'.repeat(63)}` })).toBe('InvalidRecord');
    expect(await call({ nodeSignKey: ZERO_BYTES32 })).toBe('InvalidRecord');
    expect(await call({ nodeDevice: 3 })).toBe('InvalidRecord');
    expect(await call({})).toBe('accepted');
    expect(await call({ verdict: 2, sampledNodeId: idToBytes32('node-y'), mode: 1 })).toBe('accepted');
  });

  test('anchorBatch writes new records and skips anchored ones', async () => {
    const { publicClient, walletClient, account } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey });
    const already = record();
    await registry.anchorRecord(already);
    const fresh = Array.from({ length: 10 }, () => record());
    const batch = [already, ...fresh].map((r) => toChainRecord(r));
    const { request, result } = await publicClient.simulateContract({ account, address, abi: executionRegistryAbi, functionName: 'anchorBatch', args: [batch] });
    expect(result).toBe(10n);
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await walletClient.writeContract(request) });
    gas.anchorBatchOf10 = receipt.gasUsed;
    expect(parseEventLogs({ abi: executionRegistryAbi, logs: receipt.logs, eventName: 'ExecutionAnchored' })).toHaveLength(10);
    // The idempotent client recognises batch-anchored records and points at the batch tx.
    const retried = await registry.anchorRecord(fresh[3]!);
    expect(retried).toMatchObject({ alreadyAnchored: true, txHash: receipt.transactionHash });
  });

  test('client-side validation refuses bad input before sending', async () => {
    await expect(registry.anchorRecord(record({ poe: 'not-hex' }))).rejects.toThrow('64 hex');
    await expect(registry.anchorRecord(record({ verdict: 'MajorityOverruled' }))).rejects.toThrow('sampledNodeId');
  });

  test('an unreachable RPC is ChainUnavailableError (retryable)', async () => {
    const dead = createRegistryClient({ rpcUrl: `http://127.0.0.1:${await getFreePort()}`, chainId: 31337, privateKey: owner.privateKey, address });
    const err = await dead.anchorRecord(record()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainUnavailableError);
    expect((err as ChainUnavailableError).retryable).toBe(true);
  });

  test('a record the contract refuses (zero PoE passes the client) fails with InvalidRecordError, not retryable, nothing written', async () => {
    const input = record({ poe: '0'.repeat(64) });
    const err = await registry.anchorRecord(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRecordError);
    expect((err as InvalidRecordError).retryable).toBe(false);
    expect(await registry.readRecord(input.requestId)).toBeNull();
  });
});
