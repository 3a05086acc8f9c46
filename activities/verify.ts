import { openJsonEnvelope } from '../src/crypto/envelope.js';
import { computePoe, verifyPoeSignature } from '../src/crypto/poe.js';
import type { DispatchResult, ResultPayload } from '../src/protocol/operator-wire.js';
import type { CoordinatorDeps } from './deps.js';

export type VerifyOutcome =
  | { ok: true; text: string; poe: string; signature: string }
  | { ok: false; reason: 'BAD_SIGNATURE' | 'POE_MISMATCH' | 'UNREADABLE_RESULT' | 'WRONG_REQUEST' };

function openResult(result: DispatchResult, deps: CoordinatorDeps): string | undefined {
  try {
    const payload = openJsonEnvelope(result.sealedResult, deps.identity.box.secretKey, deps.identity.box.publicKey, {
      expectRequestId: result.requestId,
    }) as ResultPayload;
    return typeof payload?.text === 'string' ? payload.text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Step 10: check the node's Ed25519 signature over the PoE with the key the node registered (never a key the
 * result carries), open the sealed result, and recompute the PoE over it. Pure check: penalties are the caller's.
 */
export function createVerifyResult(deps: CoordinatorDeps) {
  return async function verifyResult(input: { requestId: string; nodeId: string; result: DispatchResult }): Promise<VerifyOutcome> {
    const { result } = input;
    if (result.requestId !== input.requestId || result.nodeId !== input.nodeId) return { ok: false, reason: 'WRONG_REQUEST' };
    const node = await deps.db.node.findUniqueOrThrow({ where: { nodeId: input.nodeId }, select: { signPublicKey: true } });
    if (!verifyPoeSignature(result.poe, result.signature, node.signPublicKey)) return { ok: false, reason: 'BAD_SIGNATURE' };
    const text = openResult(result, deps);
    if (text === undefined) return { ok: false, reason: 'UNREADABLE_RESULT' };
    if (computePoe({ requestId: input.requestId, result: text, nodeId: input.nodeId }) !== result.poe) {
      return { ok: false, reason: 'POE_MISMATCH' };
    }
    return { ok: true, text, poe: result.poe, signature: result.signature };
  };
}
