import { nodeSignKey } from '../src/db/node-keys.js';
import type { Hex } from 'viem';
import type { InclusionProof } from '../src/chain/merkle.js';
import { anchorStateOf, type BatchPlace } from '../src/db/anchor-batches.js';
import { BEFORE_ANCHORED, writeAnchoredRecord, type RecordVerdict } from '../src/db/anchor-statement.js';
import type { ExecutionRecordInput, RecordDevice } from '../src/chain/record.js';
import type { RecordMode, RecordScore, VerdictName } from '../src/protocol/verdict.js';
import { ChainError } from '../src/chain/errors.js';
import type { CoordinatorDeps } from './deps.js';
import { applicationFailure, FailureType, toApplicationFailure } from '../src/protocol/failures.js';

export interface AnchorInput {
  requestId: string;
  nodeId: string;
  poe: string;
  verdict: VerdictName;
  sampledNodeId: string | null;
  /** How step 11 checked the result ('none' when not sampled). */
  mode: RecordMode;
  nodeDevice: RecordDevice;
  sampledNodeDevice: RecordDevice | null;
  /** Tolerant mode: node_j's score of node_i's claim, and the third node's after a failed check. */
  check: RecordScore | null;
  dispute: RecordScore | null;
  /** The delivering node's signature over the PoE (base64): anchored with its registered key. */
  signature: string;
}

export interface AnchorOutput {
  txHash: string;
  blockNumber: number;
  gasUsed: number;
  alreadyAnchored: boolean;
}

function dbVerdict(verdict: VerdictName): RecordVerdict {
  if (verdict === 'Accepted') return 'UNSAMPLED';
  return verdict === 'AcceptedSampledAgree' ? 'AGREED' : 'DISAGREED';
}

/**
 * Step 12: write the ExecutionRecord on chain and wait for its receipt. Exactly once across retries and crashes:
 * the contract refuses a second write, and the registry client then returns the original transaction of the record
 * already there. The database copy is written once, keyed by request id. The
 * node's registered key and its signature go on chain with the record, so the chain alone proves who signed.
 */
export function createAnchor({ db, registry, anchorBatches, policy }: Pick<CoordinatorDeps, 'db' | 'registry' | 'anchorBatches' | 'policy'>) {
  /**
   * The request's row says step 12 is done: for a retry that finds the record written (the first write marks the row
   * in the record's own statement).
   */
  const markAnchored = (input: AnchorInput) =>
    db.inferenceRequest.updateMany({
      where: { requestId: input.requestId, status: { in: [...BEFORE_ANCHORED] } },
      data: { status: 'ANCHORED', step: 12, verdict: dbVerdict(input.verdict), sampledNodeId: input.sampledNodeId },
    });
  return async function anchorRecord(input: AnchorInput): Promise<AnchorOutput> {
    const state = await anchorStateOf(db, input.requestId);
    // A hold released already (the run was closed and swept) means nobody pays for this record: never anchor it.
    if (state.holdStatus === 'RELEASED') {
      throw applicationFailure(FailureType.HOLD_RELEASED, `request ${input.requestId}: its credit hold was released; not anchoring`);
    }
    // The record's row is written only once its transaction is mined: a retry after that sends nothing, and marks the
    // request in case the attempt before stopped between the two rows.
    if (state.written) {
      await markAnchored(input);
      return { txHash: state.written.txHash, blockNumber: Number(state.written.blockNumber), gasUsed: 0, alreadyAnchored: true };
    }
    const signPublicKey = await nodeSignKey(db, input.nodeId, policy.nodeKeyCacheSize);
    const chainInput = {
      requestId: input.requestId,
      nodeId: input.nodeId,
      poe: input.poe,
      verdict: input.verdict,
      sampledNodeId: input.sampledNodeId,
      mode: input.mode,
      nodeDevice: input.nodeDevice,
      sampledNodeDevice: input.sampledNodeDevice,
      check: input.check,
      dispute: input.dispute,
      signPublicKey,
      signature: input.signature,
    };
    // A refusal (not authorised, conflicting or invalid record, no registry) is final: the workflow releases the
    // hold at once. Anything else (RPC down, timeouts) is retried, then waited out by the workflow.
    const finalRefusal = (error: unknown): never => {
      if (error instanceof ChainError && !error.retryable) throw toApplicationFailure(error);
      throw error;
    };
    // Batched when batching is on, or when the record was put in a batch before (a restart may have turned it off).
    const planned = anchorBatches ? state.planned : null;
    const batched = anchorBatches !== undefined && (policy.anchorBatchMax > 0 || planned !== null);
    const anchored = batched
      ? await anchorInBatch(anchorBatches, chainInput, planned).catch(finalRefusal)
      : { ...(await registry.anchorRecord(chainInput).catch(finalRefusal)), batch: null };
    await writeAnchoredRecord(db, {
      requestId: input.requestId,
      nodeId: input.nodeId,
      poe: `0x${input.poe.replace(/^0x/, '')}`,
      verdict: dbVerdict(input.verdict),
      sampledNodeId: input.sampledNodeId,
      mode: input.mode === 'none' ? 'NONE' : input.mode === 'exact' ? 'EXACT' : 'TOLERANT',
      nodeDevice: input.nodeDevice,
      sampledNodeDevice: input.sampledNodeDevice,
      checkScore: input.check,
      disputeScore: input.dispute,
      signature: input.signature,
      anchorTxHash: anchored.txHash,
      blockNumber: anchored.blockNumber,
      anchoredAt: new Date(),
      batch: anchored.batch,
    });
    return {
      txHash: anchored.txHash,
      blockNumber: Number(anchored.blockNumber),
      gasUsed: Number(anchored.gasUsed),
      alreadyAnchored: anchored.alreadyAnchored,
    };
  };
}

/**
 * Batched step 12: the record joins this process's group commit, which writes each batch down before sending it;
 * its root and inclusion proof are kept with the record. A retry whose record row is written returns before this;
 * one whose record was put in a batch sends that same batch again (same root: anchored once, whichever process
 * sends it), so a crash between the batch's transaction and the record's row never puts the record on chain twice.
 * A planned batch is never left for another: its transaction may still be pending, and the registry refuses a root
 * twice, not a record.
 */
async function anchorInBatch(
  batches: NonNullable<CoordinatorDeps['anchorBatches']>,
  record: ExecutionRecordInput,
  planned: BatchPlace | null,
): Promise<{ txHash: string; blockNumber: bigint; gasUsed: bigint; alreadyAnchored: boolean; batch: { root: string; proof: InclusionProof } }> {
  const a = planned ? await batches.anchorAgain(planned.packed as Hex, planned.position) : await batches.anchor(record);
  // Gas per record: the batch's gas shared evenly by its records.
  return { txHash: a.txHash, blockNumber: a.blockNumber, gasUsed: a.batchGasUsed / BigInt(a.batchSize), alreadyAnchored: a.alreadyAnchored, batch: { root: a.root, proof: a.proof } };
}
