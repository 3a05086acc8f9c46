import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { ValueError } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { KeyPair } from '../crypto/identity.js';
import type { CodecKey } from './codec-key.js';
import { isOperatorWirePayload } from './operator-wire-payload.js';
import { openPayloadSealedToCoordinator, SEALED_TO_COORDINATOR_ENCODING } from './sealed-payload.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export.
const { temporal } = proto;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function metadataString(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? decoder.decode(value) : undefined;
}

/**
 * AES-256-GCM payload codec of the coordinator: everything the coordinator stores in Temporal (workflow inputs,
 * results, activity payloads, failures) is encrypted, except operator wire messages, which hold only sealed or
 * public data and must stay readable by operators who never get this key.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;

  /**
   * `current` encrypts; `previous` keys still decrypt history written before a rotation; `coordinatorBox` opens
   * what operators sealed to the coordinator (src/codec/sealed-payload.ts).
   */
  constructor(
    private readonly current: CodecKey,
    previous: CodecKey[] = [],
    private readonly coordinatorBox?: KeyPair,
  ) {
    this.keys = new Map([...previous, current].map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (isOperatorWirePayload(payload)) return payload;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: encoder.encode(ENCRYPTED_ENCODING), [KEY_ID]: encoder.encode(this.current.id) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = metadataString(payload, 'encoding');
      if (encoding === SEALED_TO_COORDINATOR_ENCODING) return openPayloadSealedToCoordinator(payload, this.coordinatorBox);
      if (encoding !== ENCRYPTED_ENCODING) return payload;
      const keyId = metadataString(payload, KEY_ID);
      const key = keyId ? this.keys.get(keyId) : undefined;
      if (!key || !payload.data) throw new ValueError(`no payload codec key with id ${keyId ?? '(none)'}`);
      const data = Buffer.from(payload.data);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
