import { nodeSignKey } from '../src/db/node-keys.js';
import { toBase64 } from '../src/crypto/encoding.js';
import { openJsonEnvelope } from '../src/crypto/envelope.js';
import { computePoe, verifyPoeSignature } from '../src/crypto/poe.js';
import type { DispatchResult, ResultPayload } from '../src/protocol/operator-wire.js';
import type { CoordinatorDeps } from './deps.js';
import { applicationFailure, FailureType, type NodeFault } from '../src/protocol/failures.js';

export type VerifyOutcome =
  | { ok: true; text: string; tokenIds: number[]; poe: string; signature: string }
  | { ok: false; reason: Extract<NodeFault, 'BAD_SIGNATURE' | 'POE_MISMATCH' | 'UNREADABLE_RESULT' | 'WRONG_REQUEST' | 'OUT_OF_BOUNDS' | 'USAGE_MISMATCH'> };

/** A token count a ledger may hold: a non-negative safe integer. */
export function isTokenCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function openResult(result: DispatchResult, deps: CoordinatorDeps): ResultPayload | undefined {
  try {
    const payload = openJsonEnvelope(result.sealedResult, deps.identity.box.secretKey, deps.identity.box.publicKey, {
      expectRequestId: result.requestId,
    }) as ResultPayload;
    if (typeof payload?.text !== 'string' || !Array.isArray(payload.tokenIds)) return undefined;
    return payload.tokenIds.every((id) => Number.isInteger(id) && id >= 0) ? payload : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Usage is counted, not told: billed output tokens are the generated ids (which must decode to the PoE'd text when
 * the coordinator holds the model's tokenizer), billed input tokens the coordinator's own count of the templated
 * prompt (without a tokenizer: at most the prompt's upper bound). A node's usage that says otherwise is a lie about
 * what it is paid for, penalised like a bad PoE.
 */
async function usageCounted(input: VerifyInput, tokenIds: number[], text: string, deps: CoordinatorDeps): Promise<boolean> {
  const usage: unknown = input.result.usage;
  if (typeof usage !== 'object' || usage === null) return false;
  const { inputTokens, outputTokens } = usage as Record<string, unknown>;
  if (!isTokenCount(inputTokens) || !isTokenCount(outputTokens) || outputTokens !== tokenIds.length) return false;
  if (input.promptTokens !== undefined && inputTokens !== input.promptTokens) return false;
  if (inputTokens === 0 || (input.promptTokenBound !== undefined && inputTokens > input.promptTokenBound)) return false;
  if (input.model === undefined) return true;
  const decoded = await deps.tokens.decode(input.model, tokenIds);
  return decoded === undefined || decoded === text;
}

export interface VerifyInput {
  requestId: string;
  nodeId: string;
  maxNewTokens: number;
  result: DispatchResult;
  /** The coordinator key step 04 asked the node to seal the result to (absent in runs started before it was passed). */
  sealedTo?: string;
  /** The model run (absent in runs started before usage was counted: then only bounds are checked). */
  model?: string;
  /** Step 01's own count of the prompt's tokens: the node's inputTokens must equal it. */
  promptTokens?: number;
  /** Step 01's upper bound of the prompt's tokens: without a count, the node's inputTokens must not exceed it. */
  promptTokenBound?: number;
}

/**
 * Step 10: check the node's Ed25519 signature over the PoE with the key the node registered (never a key the
 * result carries), open the sealed result, recompute the PoE over it, and check its bounds (no more tokens than
 * asked for, as many ids as the usage it reports). Pure check: penalties are the caller's.
 * A result sealed to another coordinator key is the fleet's misconfiguration, not the node's fault (every coordinator
 * process must share one key file): COORDINATOR_KEY_MISMATCH, which the workflow turns into a workflow-task failure
 * so that a process holding the key runs the step; the node is never penalised for it.
 */
export function createVerifyResult(deps: CoordinatorDeps) {
  const ownKey = toBase64(deps.identity.box.publicKey);
  return async function verifyResult(input: VerifyInput): Promise<VerifyOutcome> {
    const { result } = input;
    if (input.sealedTo !== undefined && input.sealedTo !== ownKey) {
      deps.logger.error({ requestId: input.requestId }, 'result sealed to another coordinator key: all coordinator processes must share the coordinator key file');
      throw applicationFailure(FailureType.COORDINATOR_KEY_MISMATCH, 'the result was sealed to another coordinator key than this process holds (coordinators must share one key file)');
    }
    if (result.requestId !== input.requestId || result.nodeId !== input.nodeId) return { ok: false, reason: 'WRONG_REQUEST' };
    if (!verifyPoeSignature(result.poe, result.signature, await nodeSignKey(deps.db, input.nodeId, deps.policy.nodeKeyCacheSize))) return { ok: false, reason: 'BAD_SIGNATURE' };
    const opened = openResult(result, deps);
    if (opened === undefined) return { ok: false, reason: 'UNREADABLE_RESULT' };
    const { text, tokenIds } = opened;
    if (computePoe({ requestId: input.requestId, result: text, nodeId: input.nodeId }) !== result.poe) {
      return { ok: false, reason: 'POE_MISMATCH' };
    }
    if (tokenIds.length === 0 || tokenIds.length > input.maxNewTokens) return { ok: false, reason: 'OUT_OF_BOUNDS' };
    if (!(await usageCounted(input, tokenIds, text, deps))) return { ok: false, reason: 'USAGE_MISMATCH' };
    return { ok: true, text, tokenIds, poe: result.poe, signature: result.signature };
  };
}
