import { nodeSignKey } from '../src/db/node-keys.js';
import { signDispatch } from '../src/crypto/dispatch-signature.js';
import { sealEnvelope } from '../src/crypto/envelope.js';
import { verifyScoreReport } from '../src/crypto/score-report.js';
import type { ChatMessage } from '../src/protocol/inference.js';
import { OPERATOR_WIRE, type ScoreInput, type ScorePayload, type ScoreResult } from '../src/protocol/operator-wire.js';
import type { PositionScore } from '../src/sampling/position-score.js';
import { judgeClaim, type ClaimFailure, type TolerantScore, type TolerantThresholds } from '../src/sampling/tolerant-check.js';
import type { NodeFault } from '../src/protocol/failures.js';
import type { CoordinatorDeps } from './deps.js';
import type { MatchedNode } from './match.js';

export interface SealClaimInput {
  requestId: string;
  /** The scoring node (node_j). */
  node: MatchedNode;
  /** The node whose claim is scored (node_i). */
  claimedNodeId: string;
  model: string;
  maxNewTokens: number;
  messages: ChatMessage[];
  claim: { text: string; tokenIds: number[] };
}

/**
 * Step 11, tolerant mode: seal the prompt and node_i's claimed answer (text and token ids) to node_j's key. Like
 * step 04, what crosses to the operator holds no plaintext.
 */
export function createSealClaim({ identity }: Pick<CoordinatorDeps, 'identity'>) {
  return async function sealClaim(input: SealClaimInput): Promise<ScoreInput> {
    const payload: ScorePayload = { messages: input.messages, claim: input.claim };
    const scoreInput: ScoreInput = {
      wire: OPERATOR_WIRE,
      requestId: input.requestId,
      nodeId: input.node.nodeId,
      claimedNodeId: input.claimedNodeId,
      model: input.model,
      maxNewTokens: input.maxNewTokens,
      envelope: sealEnvelope(payload as unknown as Record<string, unknown>, input.node.boxPublicKey, { requestId: input.requestId }),
    };
    return { ...scoreInput, coordinatorSignature: signDispatch('scoreClaim', scoreInput, identity.sign.secretKey) };
  };
}

export interface JudgeScoreInput {
  requestId: string;
  /** The node that scored (must have signed the report). */
  nodeId: string;
  claimedNodeId: string;
  /** node_i's PoE: the report must name this claim. */
  claimPoe: string;
  maxNewTokens: number;
  thresholds: TolerantThresholds;
  result: ScoreResult;
}

export type JudgeScoreOutcome =
  | { valid: true; pass: boolean; failures: ClaimFailure[]; score: TolerantScore; device: 'webgpu' | 'cpu'; durationMs: number }
  | { valid: false; reason: Extract<NodeFault, 'BAD_SCORE_SIGNATURE' | 'WRONG_CLAIM' | 'MALFORMED_SCORE'> };

/**
 * Step 11, tolerant mode: check node_j's signed score report (its registered key, this request, this claim) and
 * judge node_i's claim with the coordinator's thresholds. node_j measures; the coordinator decides.
 */
export function createJudgeScore({ db, policy }: CoordinatorDeps) {
  return async function judgeScore(input: JudgeScoreInput): Promise<JudgeScoreOutcome> {
    const { report, signature } = input.result ?? {};
    if (!report || !verifyScoreReport(report, signature, await nodeSignKey(db, input.nodeId, policy.nodeKeyCacheSize))) return { valid: false, reason: 'BAD_SCORE_SIGNATURE' };
    if (
      report.requestId !== input.requestId ||
      report.nodeId !== input.nodeId ||
      report.claimedNodeId !== input.claimedNodeId ||
      report.claimPoe !== input.claimPoe.replace(/^0x/, '').toLowerCase()
    ) {
      return { valid: false, reason: 'WRONG_CLAIM' };
    }
    const n = report.gaps?.length;
    const wellFormed =
      Array.isArray(report.gaps) &&
      Array.isArray(report.ranks) &&
      n > 0 &&
      report.ranks.length === n &&
      report.gaps.every((g) => typeof g === 'number' && Number.isFinite(g) && (g >= 0 || g === -1)) &&
      report.ranks.every((r) => Number.isInteger(r) && r >= 0) &&
      [report.textMatches, report.endsWithEos, report.eosBeforeEnd].every((b) => typeof b === 'boolean') &&
      (report.device === 'cpu' || report.device === 'webgpu');
    if (!wellFormed) return { valid: false, reason: 'MALFORMED_SCORE' };
    const positions: PositionScore[] = report.gaps.map((gap, i) => ({
      gap: gap < 0 ? Number.POSITIVE_INFINITY : gap,
      rank: report.ranks[i]!,
    }));
    const verdict = judgeClaim(
      { positions: n, textMatches: report.textMatches, endsWithEos: report.endsWithEos, eosBeforeEnd: report.eosBeforeEnd },
      positions,
      input.maxNewTokens,
      input.thresholds,
    );
    return { valid: true, pass: verdict.pass, failures: verdict.failures, score: verdict.score, device: report.device, durationMs: report.durationMs };
  };
}
