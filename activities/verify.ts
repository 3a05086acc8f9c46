import { openJsonEnvelope } from '../src/crypto/envelope.js';
import { computePoe, verifyPoeSignature } from '../src/crypto/poe.js';
import type { DispatchResult, ResultPayload } from '../src/protocol/operator-wire.js';
import type { CoordinatorDeps } from './deps.js';

export type VerifyOutcome =
  | { ok: true; text: string; tokenIds: number[]; poe: string; signature: string }
  | { ok: false; reason: 'BAD_SIGNATURE' | 'POE_MISMATCH' | 'UNREADABLE_RESULT' | 'WRONG_REQUEST' | 'OUT_OF_BOUNDS' };

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
 * Step 10: check the node's Ed25519 signature over the PoE with the key the node registered (never a key the
 * result carries), open the sealed result, recompute the PoE over it, and check its bounds (no more tokens than
 * asked for, as many ids as the usage it reports). Pure check: penalties are the caller's.
 */
export function createVerifyResult(deps: CoordinatorDeps) {
  return async function verifyResult(input: { requestId: string; nodeId: string; maxNewTokens: number; result: DispatchResult }): Promise<VerifyOutcome> {
    const { result } = input;
    if (result.requestId !== input.requestId || result.nodeId !== input.nodeId) return { ok: false, reason: 'WRONG_REQUEST' };
    const node = await deps.db.node.findUniqueOrThrow({ where: { nodeId: input.nodeId }, select: { signPublicKey: true } });
    if (!verifyPoeSignature(result.poe, result.signature, node.signPublicKey)) return { ok: false, reason: 'BAD_SIGNATURE' };
    const opened = openResult(result, deps);
    if (opened === undefined) return { ok: false, reason: 'UNREADABLE_RESULT' };
    const { text, tokenIds } = opened;
    if (computePoe({ requestId: input.requestId, result: text, nodeId: input.nodeId }) !== result.poe) {
      return { ok: false, reason: 'POE_MISMATCH' };
    }
    if (tokenIds.length === 0 || tokenIds.length > input.maxNewTokens || tokenIds.length !== result.usage?.outputTokens) {
      return { ok: false, reason: 'OUT_OF_BOUNDS' };
    }
    return { ok: true, text, tokenIds, poe: result.poe, signature: result.signature };
  };
}
