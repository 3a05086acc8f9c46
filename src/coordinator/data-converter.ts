import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from '../codec/encryption-codec.js';
import type { CodecKey } from '../codec/codec-key.js';

/** What the coordinator's worker and every platform client use: all payloads through the encrypting codec. */
export function coordinatorDataConverter(key: CodecKey): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(key)] };
}
