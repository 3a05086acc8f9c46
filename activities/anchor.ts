import type { VerdictName } from '../src/chain/record.js';
import type { CoordinatorDeps } from './deps.js';

export interface AnchorInput {
  requestId: string;
  nodeId: string;
  poe: string;
  verdict: VerdictName;
  sampledNodeId: string | null;
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

/**
 * Step 12: write the ExecutionRecord on chain and wait for its receipt. Exactly once across retries and crashes:
 * the registry client checks the chain before sending and returns the original transaction of a record already
 * there; the contract itself refuses a second write. The database copy is an upsert keyed by request id.
 */
export function createAnchor({ db, registry }: CoordinatorDeps) {
  return async function anchorRecord(input: AnchorInput): Promise<AnchorOutput> {
    const anchored = await registry.anchorRecord({
      requestId: input.requestId,
      nodeId: input.nodeId,
      poe: input.poe,
      verdict: input.verdict,
      sampledNodeId: input.sampledNodeId,
    });
    const record = {
      nodeId: input.nodeId,
      poe: `0x${input.poe.replace(/^0x/, '')}`,
      verdict: dbVerdict(input.verdict),
      sampledNodeId: input.sampledNodeId,
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
