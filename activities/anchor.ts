import { ApplicationFailure } from '@temporalio/common';
import type { RecordDevice, RecordMode, RecordScore, VerdictName } from '../src/chain/record.js';
import type { Prisma } from '../src/db/client.js';
import type { CoordinatorDeps } from './deps.js';

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

function dbVerdict(verdict: VerdictName): 'UNSAMPLED' | 'AGREED' | 'DISAGREED' {
  if (verdict === 'Accepted') return 'UNSAMPLED';
  return verdict === 'AcceptedSampledAgree' ? 'AGREED' : 'DISAGREED';
}

const json = (score: RecordScore | null): Prisma.InputJsonValue | undefined => (score ? { ...score } : undefined);

/**
 * Step 12: write the ExecutionRecord on chain and wait for its receipt. Exactly once across retries and crashes:
 * the registry client checks the chain before sending and returns the original transaction of a record already
 * there; the contract itself refuses a second write. The database copy is an upsert keyed by request id. The
 * node's registered key and its signature go on chain with the record, so the chain alone proves who signed.
 */
export function createAnchor({ db, registry }: CoordinatorDeps) {
  return async function anchorRecord(input: AnchorInput): Promise<AnchorOutput> {
    // A hold released already (the run was closed and swept) means nobody pays for this record: never anchor it.
    const hold = await db.creditHold.findUnique({ where: { requestId: input.requestId }, select: { status: true } });
    if (hold?.status === 'RELEASED') {
      throw ApplicationFailure.nonRetryable(`request ${input.requestId}: its credit hold was released; not anchoring`, 'HOLD_RELEASED');
    }
    const node = await db.node.findUniqueOrThrow({ where: { nodeId: input.nodeId }, select: { signPublicKey: true } });
    const anchored = await registry.anchorRecord({
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
      signPublicKey: node.signPublicKey,
      signature: input.signature,
    });
    const record = {
      nodeId: input.nodeId,
      poe: `0x${input.poe.replace(/^0x/, '')}`,
      verdict: dbVerdict(input.verdict),
      sampledNodeId: input.sampledNodeId,
      mode: input.mode === 'none' ? ('NONE' as const) : input.mode === 'exact' ? ('EXACT' as const) : ('TOLERANT' as const),
      nodeDevice: input.nodeDevice,
      sampledNodeDevice: input.sampledNodeDevice,
      checkScore: json(input.check),
      disputeScore: json(input.dispute),
      signature: input.signature,
      anchorTxHash: anchored.txHash,
      blockNumber: anchored.blockNumber,
      anchoredAt: new Date(),
    };
    await db.$transaction([
      db.executionRecord.upsert({ where: { requestId: input.requestId }, create: { requestId: input.requestId, ...record }, update: {} }),
      db.inferenceRequest.update({
        where: { requestId: input.requestId },
        data: { status: 'ANCHORED', step: 12, verdict: record.verdict, sampledNodeId: input.sampledNodeId },
      }),
    ]);
    return {
      txHash: anchored.txHash,
      blockNumber: Number(anchored.blockNumber),
      gasUsed: Number(anchored.gasUsed),
      alreadyAnchored: anchored.alreadyAnchored,
    };
  };
}
