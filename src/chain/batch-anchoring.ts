import { concatHex, decodeFunctionData, getAddress, hexToBytes, type Address, type Hex, type PublicClient } from 'viem';
import { toBase64 } from '../crypto/encoding.js';
import { executionRegistryAbi } from './abi.js';
import { createChainClients, toChainError, waitForReceipt, type ChainConnection } from './clients.js';
import { writeOnce } from './write-once.js';
import { ChainTransactionError } from './errors.js';
import { merkleTree, type InclusionProof } from './merkle.js';
import { packedLeaf, packRecord, unpackRecords } from './packed-record.js';
import {
  deviceName,
  fromChainScore,
  idToBytes32,
  modeName,
  toChainRecord,
  verdictName,
  type AnchoredRecord,
  type AnchorEvidence,
  type ChainRecordArgs,
  type ExecutionRecordInput,
} from './record.js';

/** A batch root as the registry stores it (ExecutionRegistry.getBatch). */
export interface AnchoredBatch {
  root: Hex;
  blockNumber: number;
  timestamp: number;
  count: number;
  anchorer: Address;
}

export interface BatchAnchorResult {
  root: Hex;
  /** The transaction that anchored the root (the original one when alreadyAnchored). */
  txHash: Hex;
  blockNumber: bigint;
  /** Gas of the whole batch transaction. */
  gasUsed: bigint;
  alreadyAnchored: boolean;
  /** One per record, in batch order. */
  proofs: InclusionProof[];
}

/** Reads a batch root's record from the registry (null when that root was never anchored). */
export async function readBatch(client: PublicClient, registry: Address, root: Hex): Promise<AnchoredBatch | null> {
  try {
    const b = await client.readContract({ address: registry, abi: executionRegistryAbi, functionName: 'getBatch', args: [root] });
    if (b.anchorer === '0x0000000000000000000000000000000000000000') return null;
    return { root, blockNumber: b.blockNumber, timestamp: b.timestamp, count: b.count, anchorer: b.anchorer };
  } catch (err) {
    throw toChainError(err, 'read batch');
  }
}


/** A batch before it is sent: its calldata, root, each record's proof and request id (in batch order). */
export interface BatchPlan {
  root: Hex;
  /** The packed records, concatenated: anchorRoot's argument. */
  packed: Hex;
  proofs: InclusionProof[];
  /** Request ids as the chain carries them (bytes32 hex) and as given, in batch order. */
  requestIds: string[];
}

/** The plan of these records in this order. */
export function planBatch(records: readonly ExecutionRecordInput[]): BatchPlan {
  const packed = records.map((r) => packRecord(toChainRecord(r)));
  const { root, proofs } = merkleTree(packed.map(packedLeaf));
  return { root, packed: concatHex(packed), proofs, requestIds: records.map((r) => r.requestId) };
}

/** The plan of a batch stored as its packed records (the same root and proofs; request ids as bytes32 hex). */
export function planFromPacked(packed: Hex): BatchPlan {
  const records = unpackRecords(packed);
  const { root, proofs } = merkleTree(records.map((r) => packedLeaf(r.packed)));
  return { root, packed, proofs, requestIds: records.map((r) => r.args.requestId) };
}

export interface BatchAnchorer {
  readonly account: Address;
  /**
   * Anchors these records under one root in one transaction and waits for the receipt. Idempotent: the same
   * records in the same order give the same root, and a root already on chain is returned with its original
   * transaction (the contract refuses a second one).
   */
  anchorBatch(records: ExecutionRecordInput[]): Promise<BatchAnchorResult>;
  /** anchorBatch of a planned batch (planBatch / planFromPacked): sends it unless its root is on chain already. */
  sendBatch(plan: BatchPlan): Promise<BatchAnchorResult>;
  /** Converts and checks a record as anchorBatch will (throws InvalidInputError for a record the contract refuses). */
  prepare(record: ExecutionRecordInput): ChainRecordArgs;
  readBatch(root: Hex): Promise<AnchoredBatch | null>;
}

export function createBatchAnchorer(params: ChainConnection & { address: Address; confirmations?: number; receiptTimeoutMs?: number }): BatchAnchorer {
  const { publicClient, walletClient, account, resetNonce } = createChainClients(params);
  const address = getAddress(params.address);
  const confirmations = params.confirmations ?? 1;
  const timeout = params.receiptTimeoutMs ?? 120_000;

  async function existing(root: Hex, batch: AnchoredBatch, proofs: InclusionProof[]): Promise<BatchAnchorResult> {
    const block = BigInt(batch.blockNumber);
    const logs = await publicClient
      .getContractEvents({ address, abi: executionRegistryAbi, eventName: 'BatchAnchored', args: { root }, fromBlock: block, toBlock: block })
      .catch((err: unknown) => {
        throw toChainError(err, 'read batch event');
      });
    const first = logs[0];
    if (!first) throw new ChainTransactionError(`batch ${root} exists but its BatchAnchored event was not found in block ${block}`);
    const receipt = await waitForReceipt(publicClient, { hash: first.transactionHash, confirmations, timeout });
    return { root, txHash: first.transactionHash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, alreadyAnchored: true, proofs };
  }

  async function sendBatch({ root, packed: data, proofs }: BatchPlan): Promise<BatchAnchorResult> {
    return writeOnce({
      find: async () => {
        const found = await readBatch(publicClient, address, root);
        return found ? existing(root, found, proofs) : null;
      },
      send: () => walletClient.writeContract({ address, abi: executionRegistryAbi, functionName: 'anchorRoot', args: [data] }),
      wait: (hash) => waitForReceipt(publicClient, { hash, confirmations, timeout }),
      resetNonce,
      raceError: 'BatchAlreadyAnchored',
      labels: { send: 'anchor batch', wait: 'wait for batch tx', reverted: 'batch transaction' },
      mined: (txHash, receipt) => ({ root, txHash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, alreadyAnchored: false, proofs }),
    });
  }

  return {
    account: account.address,
    prepare(record) {
      const args = toChainRecord(record);
      packRecord(args); // refuses a record whose node id is not its key's
      return args;
    },
    readBatch: (root) => readBatch(publicClient, address, root),
    sendBatch,
    anchorBatch: (records) => sendBatch(planBatch(records)),
  };
}

/** A record found in a batch transaction's calldata, in the forms the single-record readers return. */
export interface BatchedRecord {
  record: AnchoredRecord;
  evidence: AnchorEvidence;
  /** The record's leaf and its proof as rebuilt from the whole batch in the transaction. */
  leaf: Hex;
  proof: InclusionProof;
  batch: AnchoredBatch;
}

/**
 * A record anchored in a batch, from the chain alone: the batch transaction's calldata holds every record of the
 * batch, so the tree is rebuilt here and its root must be one the registry stores, anchored in that transaction's
 * block. Null when the transaction is not an anchorRoot call of this registry, does not hold the request, or its root
 * is not stored.
 */
export async function readBatchedRecord(client: PublicClient, registry: Address, txHash: Hex, requestId: string): Promise<BatchedRecord | null> {
  let tx;
  let receipt;
  try {
    [tx, receipt] = await Promise.all([client.getTransaction({ hash: txHash }), client.getTransactionReceipt({ hash: txHash })]);
  } catch (err) {
    throw toChainError(err, 'read batch transaction');
  }
  if (!tx.to || getAddress(tx.to) !== getAddress(registry) || receipt.status !== 'success') return null;
  let records: Array<{ args: ChainRecordArgs; packed: Hex }>;
  try {
    const call = decodeFunctionData({ abi: executionRegistryAbi, data: tx.input });
    if (call.functionName !== 'anchorRoot') return null;
    records = unpackRecords(call.args[0]);
  } catch {
    return null;
  }
  const key = idToBytes32(requestId);
  const index = records.findIndex((r) => r.args.requestId.toLowerCase() === key);
  if (index < 0) return null;
  const leaves = records.map((r) => packedLeaf(r.packed));
  const { root, proofs } = merkleTree(leaves);
  const batch = await readBatch(client, registry, root);
  if (!batch || BigInt(batch.blockNumber) !== receipt.blockNumber) return null;
  const r = records[index]!.args;
  return {
    record: {
      requestKey: r.requestId,
      nodeKey: r.nodeId,
      poe: r.poe,
      verdict: verdictName(r.verdict),
      verdictCode: r.verdict,
      sampledNodeKey: r.sampledNodeId,
      mode: modeName(r.mode),
      nodeDevice: deviceName(r.nodeDevice),
      sampledNodeDevice: deviceName(r.sampledNodeDevice),
      check: fromChainScore(r.check),
      dispute: fromChainScore(r.dispute),
      timestamp: batch.timestamp,
      blockNumber: batch.blockNumber,
      anchorer: batch.anchorer,
    },
    evidence: { txHash, signPublicKey: toBase64(hexToBytes(r.nodeSignKey)), signature: toBase64(hexToBytes(r.signature)), mode: modeName(r.mode) },
    leaf: leaves[index]!,
    proof: proofs[index]!,
    batch,
  };
}
