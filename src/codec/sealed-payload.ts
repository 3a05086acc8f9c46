import nacl from 'tweetnacl';
import type { Payload } from '@temporalio/common';
import { ValueError } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { KeyPair } from '../crypto/identity.js';
import { boxOpen, sealBox } from '../crypto/curve25519.js';

/**
 * A payload an operator seals to the coordinator's box key (X25519 + XSalsa20-Poly1305, a fresh ephemeral key per
 * payload): its failure messages, stack traces and heartbeat details. Only the coordinator (and the codec server,
 * which holds its key) opens them; the history holds ciphertext.
 *   data = ephemeral public key (32) ‖ nonce (24) ‖ box(Payload protobuf)
 */
export const SEALED_TO_COORDINATOR_ENCODING = 'binary/sealed-to-coordinator';

// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export.
const { temporal } = proto;
const encoder = new TextEncoder();

export function sealPayloadToCoordinator(payload: Payload, coordinatorBoxPublicKey: Uint8Array): Payload {
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  const plain = temporal.api.common.v1.Payload.encode(payload).finish();
  const { ephemeralPublicKey, boxed } = sealBox(plain, nonce, coordinatorBoxPublicKey);
  const data = new Uint8Array(ephemeralPublicKey.length + nonce.length + boxed.length);
  data.set(ephemeralPublicKey, 0);
  data.set(nonce, ephemeralPublicKey.length);
  data.set(boxed, ephemeralPublicKey.length + nonce.length);
  return { metadata: { encoding: encoder.encode(SEALED_TO_COORDINATOR_ENCODING) }, data };
}

export function openPayloadSealedToCoordinator(payload: Payload, coordinatorBox: KeyPair | undefined): Payload {
  if (!coordinatorBox) throw new ValueError('a payload sealed to the coordinator needs the coordinator box key to open');
  const data = payload.data ?? new Uint8Array();
  const keyEnd = nacl.box.publicKeyLength;
  const nonceEnd = keyEnd + nacl.box.nonceLength;
  const opened =
    data.length > nonceEnd
      ? boxOpen(data.subarray(nonceEnd), data.subarray(keyEnd, nonceEnd), data.subarray(0, keyEnd), coordinatorBox.secretKey)
      : null;
  if (!opened) throw new ValueError('a payload sealed to the coordinator does not open with this coordinator box key');
  return temporal.api.common.v1.Payload.decode(opened);
}
