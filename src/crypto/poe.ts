import { InvalidInputError } from '../shared/errors.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, lengthPrefixedConcat, lengthPrefixedStrings, toHex, utf8Encode } from './encoding.js';
import { signDetached, verifyDetached } from './identity.js';

/**
 * Proof of Execution (step 08): a commitment to (request id, result, node id).
 * Byte encoding, test vectors and rationale: docs/poe.md.
 *
 *   PoE = SHA-256( LP("parallelix-poe-v1") ‖ LP(requestId) ‖ LP(result) ‖ LP(nodeId) )
 *   LP(s) = uint32_be(byteLength(utf8(s))) ‖ utf8(s)
 */
export const POE_DOMAIN = 'parallelix-poe-v1';
/** Domain of the Ed25519 signature over a PoE (step 09), so it cannot pass for another signed message. */
export const POE_SIGNATURE_DOMAIN = 'parallelix-poe-signature-v1';

export interface PoeInput {
  requestId: string;
  result: string;
  nodeId: string;
}

/** The exact bytes that are hashed. */
export function poePreimage({ requestId, result, nodeId }: PoeInput): Uint8Array {
  return lengthPrefixedStrings([POE_DOMAIN, requestId, result, nodeId]);
}

/** PoE as 64 lowercase hex characters. */
export function computePoe(input: PoeInput): string {
  return toHex(sha256(poePreimage(input)));
}

/** Recomputes the PoE from an opened result and compares (step 10). */
export function poeMatches(input: PoeInput, poe: string): boolean {
  return computePoe(input) === poe.toLowerCase();
}

function poeSignatureMessage(poe: string): Uint8Array {
  const digest = fromHex(poe);
  if (digest.byteLength !== 32) throw new InvalidInputError('PoE must be 32 bytes (64 hex characters)');
  return lengthPrefixedConcat([utf8Encode(POE_SIGNATURE_DOMAIN), digest]);
}

/** Ed25519 signature (base64) over LP(POE_SIGNATURE_DOMAIN) ‖ LP(32 PoE bytes). */
export function signPoe(poe: string, signSecretKey: Uint8Array): string {
  return signDetached(poeSignatureMessage(poe), signSecretKey);
}

/** False for a bad signature, a malformed PoE or a malformed key; never throws. */
export function verifyPoeSignature(poe: string, signature: string, signPublicKey: Uint8Array | string): boolean {
  let message: Uint8Array;
  try {
    message = poeSignatureMessage(poe);
  } catch {
    return false;
  }
  return verifyDetached(message, signature, signPublicKey);
}

