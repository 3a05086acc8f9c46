import { signDetached, verifyDetached } from './identity.js';

/**
 * Signed health probes: the health workflow sends a fresh challenge with every probe and the node signs
 * LP-free text "parallelix/health-probe-v1\n<nodeId>\n<challenge>" with its Ed25519 key, so an answer proves the
 * node itself (not a process that took over its queue or replays an old answer) polls right now.
 */
export function healthProbeMessage(nodeId: string, challenge: string): string {
  return `parallelix/health-probe-v1\n${nodeId}\n${challenge}`;
}

export function signHealthProbe(nodeId: string, challenge: string, signSecretKey: Uint8Array): string {
  return signDetached(healthProbeMessage(nodeId, challenge), signSecretKey);
}

/** True only for a valid signature of this node over this challenge; never throws. */
export function verifyHealthProbe(nodeId: string, challenge: string, signature: unknown, signPublicKey: string): boolean {
  if (typeof signature !== 'string' || challenge === '') return false;
  return verifyDetached(healthProbeMessage(nodeId, challenge), signature, signPublicKey);
}
