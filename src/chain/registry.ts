import { getAddress, hexToBytes, type Address, type Hex, type PublicClient } from 'viem';
import { toBase64 } from '../crypto/encoding.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { executionRegistryAbi } from './abi.js';
import { createChainClients, createReadClient, isNonceError, toChainError, waitForReceipt } from './clients.js';
import { writeOnce } from './write-once.js';
import { AnchorConflictError, ChainTransactionError, RegistryNotDeployedError } from './errors.js';
import {
  deviceName,
  fromChainScore,
  idToBytes32,
  modeName,
  sameRecord,
  toChainRecord,
  verdictName,
  type AnchoredRecord,
  type AnchorEvidence,
  type ChainRecordArgs,
  type ExecutionRecordInput,
} from './record.js';

const log = createLogger('chain-registry');

export interface RegistryClientParams {
  rpcUrl: string;
  chainId: number;
  privateKey: Hex;
  address: Address;
  /** Blocks to wait for after inclusion (1 = the including block). Default 1. */
  confirmations?: number;
  /** How long to wait for a receipt before giving up (retryable). Default 60 s. */
  receiptTimeoutMs?: number;
}

export interface AnchorResult {
  /** bytes32 key of the request on chain: SHA-256(UTF-8(requestId)). */
  requestKey: Hex;
  /** The transaction that wrote the record (the original one when alreadyAnchored). */
  txHash: Hex;
  blockNumber: bigint;
  /** Gas of that transaction (a whole batch's gas if the record came from anchorBatch). */
  gasUsed: bigint;
  /** True when the record was already on chain (an earlier attempt or another anchorer wrote it). */
  alreadyAnchored: boolean;
}

export interface RegistryClient extends RegistryReader {
  /** The account this client sends from. */
  readonly account: Address;
  /**
   * Anchor a record exactly once. Safe to call again after a timeout, crash or concurrent call:
   * an existing identical record yields alreadyAnchored with the original tx; an existing
   * different record throws AnchorConflictError.
   */
  anchorRecord(record: ExecutionRecordInput): Promise<AnchorResult>;
  isAnchored(requestId: string): Promise<boolean>;
  /** Owner only. Idempotent. */
  addAnchorer(anchorer: Address): Promise<{ txHash: Hex }>;
  /** Owner only. Idempotent. */
  removeAnchorer(anchorer: Address): Promise<{ txHash: Hex }>;
  isAnchorer(account: Address): Promise<boolean>;
  /** ConfigError on a chain id mismatch, RegistryNotDeployedError when the address has no code. */
  verify(): Promise<void>;
}


export interface RegistryReaderParams {
  rpcUrl: string;
  chainId: number;
  address: Address;
}

/** Read-only access to the registry: what anyone can check with an RPC URL alone (no key). */
export interface RegistryReader {
  readonly address: Address;
  /** The record anchored for this request id, or null. */
  readRecord(requestId: string): Promise<AnchoredRecord | null>;
  /** Same, by bytes32 key. */
  readRecordByKey(requestKey: Hex): Promise<AnchoredRecord | null>;
  /** The anchoring transaction of a record and what its ExecutionAnchored event carries (key, signature). */
  readEvidence(record: AnchoredRecord): Promise<AnchorEvidence>;
}

export function createRegistryReader(params: RegistryReaderParams, client?: PublicClient): RegistryReader {
  const address = getAddress(params.address);
  const publicClient = client ?? createReadClient(params.rpcUrl, params.chainId);

  async function readRecordByKey(requestKey: Hex): Promise<AnchoredRecord | null> {
    try {
      const r = await publicClient.readContract({ address, abi: executionRegistryAbi, functionName: 'getRecord', args: [requestKey] });
      if (r.anchorer === '0x0000000000000000000000000000000000000000') return null;
      return {
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
        timestamp: r.timestamp,
        blockNumber: r.blockNumber,
        anchorer: r.anchorer,
      };
    } catch (err) {
      throw toChainError(err, 'read record');
    }
  }

  /** The record's ExecutionAnchored event: the record stores its block number, so the log search is one block wide. */
  async function readEvidence(record: AnchoredRecord): Promise<AnchorEvidence> {
    try {
      const block = BigInt(record.blockNumber);
      const logs = await publicClient.getContractEvents({
        address,
        abi: executionRegistryAbi,
        eventName: 'ExecutionAnchored',
        args: { requestId: record.requestKey },
        fromBlock: block,
        toBlock: block,
      });
      const first = logs[0];
      if (!first) throw new ChainTransactionError(`record ${record.requestKey} exists but its ExecutionAnchored event was not found in block ${block}`);
      return {
        txHash: first.transactionHash,
        signPublicKey: toBase64(hexToBytes(first.args.nodeSignKey!)),
        signature: toBase64(hexToBytes(first.args.signature!)),
        mode: modeName(first.args.mode!),
      };
    } catch (err) {
      throw toChainError(err, 'read anchoring event');
    }
  }

  return { address, readRecord: (requestId) => readRecordByKey(idToBytes32(requestId)), readRecordByKey, readEvidence };
}

export function createRegistryClient(params: RegistryClientParams): RegistryClient {
  const { publicClient, walletClient, account, resetNonce } = createChainClients(params);
  const address = getAddress(params.address);
  const confirmations = params.confirmations ?? 1;
  // Well inside step 12's 2-minute start-to-close: a receipt that never comes (a transaction lost with a crashed
  // node's mempool) must fail here, where the nonce is reset, not time the activity out with the gap still cached.
  const timeout = params.receiptTimeoutMs ?? 60_000;
  // Concurrent calls for the same request in this process share one attempt.
  const inflight = new Map<Hex, Promise<AnchorResult>>();

  const reader = createRegistryReader({ rpcUrl: params.rpcUrl, chainId: params.chainId, address }, publicClient);
  const { readRecordByKey, readEvidence } = reader;

  /** The record is already there: check it is ours (key and signature included) and return the transaction that wrote it. */
  async function resolveExisting(args: ChainRecordArgs, existing: AnchoredRecord): Promise<AnchorResult> {
    const evidence = await readEvidence(existing);
    if (!sameRecord(args, existing, evidence)) {
      throw new AnchorConflictError(`request ${args.requestId} is already anchored with different contents`, {
        details: `on chain: node ${existing.nodeKey}, poe ${existing.poe}, verdict ${existing.verdict}, mode ${existing.mode}; attempted: node ${args.nodeId}, poe ${args.poe}, verdict code ${args.verdict}, mode code ${args.mode}`,
      });
    }
    try {
      const receipt = await waitForReceipt(publicClient, { hash: evidence.txHash, confirmations, timeout });
      return { requestKey: args.requestId, txHash: evidence.txHash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, alreadyAnchored: true };
    } catch (err) {
      throw toChainError(err, 'find anchoring transaction');
    }
  }

  async function anchorOnce(args: ChainRecordArgs): Promise<AnchorResult> {
    return writeOnce<AnchorResult>({
      find: async () => {
        const existing = await readRecordByKey(args.requestId);
        return existing ? resolveExisting(args, existing) : null;
      },
      send: () => walletClient.writeContract({ address, abi: executionRegistryAbi, functionName: 'anchor', args: [args] }),
      wait: (hash) => waitForReceipt(publicClient, { hash, confirmations, timeout }),
      resetNonce,
      raceError: 'AlreadyAnchored',
      labels: { send: 'anchor record', wait: 'wait for anchor tx', reverted: 'anchor transaction' },
      mined: (txHash, receipt) => {
        log.info({ requestKey: args.requestId, txHash, gasUsed: Number(receipt.gasUsed) }, 'record anchored');
        return { requestKey: args.requestId, txHash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, alreadyAnchored: false };
      },
    });
  }

  async function send(functionName: 'addAnchorer' | 'removeAnchorer', who: Address): Promise<{ txHash: Hex }> {
    try {
      const { request } = await publicClient.simulateContract({ account, address, abi: executionRegistryAbi, functionName, args: [who] });
      const txHash = await walletClient.writeContract(request);
      const receipt = await waitForReceipt(publicClient, { hash: txHash, confirmations, timeout });
      if (receipt.status !== 'success') throw new ChainTransactionError(`${functionName} transaction ${txHash} reverted`);
      return { txHash };
    } catch (err) {
      if (isNonceError(err)) resetNonce();
      throw toChainError(err, functionName);
    }
  }

  return {
    address,
    account: account.address,
    async anchorRecord(record) {
      const args = toChainRecord(record);
      const running = inflight.get(args.requestId);
      if (running) return running;
      const attempt = anchorOnce(args).finally(() => inflight.delete(args.requestId));
      inflight.set(args.requestId, attempt);
      return attempt;
    },
    readRecord: reader.readRecord,
    readRecordByKey,
    readEvidence,
    async isAnchored(requestId) {
      try {
        return await publicClient.readContract({ address, abi: executionRegistryAbi, functionName: 'isAnchored', args: [idToBytes32(requestId)] });
      } catch (err) {
        throw toChainError(err, 'isAnchored');
      }
    },
    addAnchorer: (who) => send('addAnchorer', who),
    removeAnchorer: (who) => send('removeAnchorer', who),
    async isAnchorer(who) {
      try {
        return await publicClient.readContract({ address, abi: executionRegistryAbi, functionName: 'isAnchorer', args: [who] });
      } catch (err) {
        throw toChainError(err, 'isAnchorer');
      }
    },
    async verify() {
      let chainId: number;
      let code: Hex | undefined;
      try {
        chainId = await publicClient.getChainId();
        code = await publicClient.getCode({ address });
      } catch (err) {
        throw toChainError(err, 'verify registry');
      }
      if (chainId !== params.chainId) {
        throw new ConfigError(`chain RPC serves chain id ${chainId}, but ${params.chainId} is configured`);
      }
      if (!code || code === '0x') throw new RegistryNotDeployedError(`no contract code at ${address} on chain ${chainId}`);
    },
  };
}
