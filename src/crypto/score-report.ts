import { canonicalJson } from './canonical-json.js';
import { lengthPrefixedConcat, utf8Encode } from './encoding.js';
import { signDetached, verifyDetached } from './identity.js';

/**
 * Signature of a scoring node over its report (step 11, tolerant mode):
 *   Ed25519( LP("parallelix-score-v1") ‖ LP(canonicalJson(report)) )
 * The report names the claim by its PoE, so a score cannot be replayed for another claim or request.
 */
export const SCORE_SIGNATURE_DOMAIN = 'parallelix-score-v1';

function signedBytes(report: object): Uint8Array {
  return lengthPrefixedConcat([utf8Encode(SCORE_SIGNATURE_DOMAIN), utf8Encode(canonicalJson(report))]);
}

/** `report`: a plain JSON object (src/protocol/operator-wire.ts ScoreReport). */
export function signScoreReport(report: object, signSecretKey: Uint8Array): string {
  return signDetached(signedBytes(report), signSecretKey);
}

/** False for a bad signature or a report that cannot be encoded; never throws. */
export function verifyScoreReport(report: object, signature: string, signPublicKey: Uint8Array | string): boolean {
  try {
    return verifyDetached(signedBytes(report), signature, signPublicKey);
  } catch {
    return false;
  }
}
