import { canonicalJson } from './canonical-json.js';
import { lengthPrefixedConcat, utf8Encode } from './encoding.js';
import { signDetached, verifyDetached } from './identity.js';

/**
 * The coordinator's signature over what it asks a node to do (step 05 dispatch, step 11 scoring):
 *   Ed25519( LP("parallelix-dispatch-v1") ‖ LP(kind) ‖ LP(canonicalJson(fields)) )
 * `fields` are every field of the message except the signature itself (request id, node id, model, max tokens,
 * envelope, reply key; the claimed node for a score). A node pins the coordinator's signing key at registration and
 * executes only messages signed by it, so a copied envelope re-scheduled with another reply key is refused.
 */
export const DISPATCH_SIGNATURE_DOMAIN = 'parallelix-dispatch-v1';

export type SignedDispatchKind = 'executeInference' | 'scoreClaim';

function signedBytes(kind: SignedDispatchKind, fields: object): Uint8Array {
  return lengthPrefixedConcat([utf8Encode(DISPATCH_SIGNATURE_DOMAIN), utf8Encode(kind), utf8Encode(canonicalJson(fields))]);
}

/** The fields a signature covers: the message minus its `coordinatorSignature`. */
export function dispatchFields<T extends { coordinatorSignature?: string }>(message: T): Omit<T, 'coordinatorSignature'> {
  const { coordinatorSignature: _ignored, ...fields } = message;
  return fields;
}

export function signDispatch(kind: SignedDispatchKind, fields: object, signSecretKey: Uint8Array): string {
  return signDetached(signedBytes(kind, fields), signSecretKey);
}

/** False for a missing or bad signature, or fields that cannot be encoded; never throws. */
export function verifyDispatchSignature(
  kind: SignedDispatchKind,
  message: { coordinatorSignature?: unknown },
  signPublicKey: Uint8Array | string,
): boolean {
  if (typeof message.coordinatorSignature !== 'string') return false;
  try {
    return verifyDetached(signedBytes(kind, dispatchFields(message as { coordinatorSignature?: string })), message.coordinatorSignature, signPublicKey);
  } catch {
    return false;
  }
}
