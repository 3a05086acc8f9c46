import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './encryption-codec.js';
import { ENCODED_FAILURES_CONVERTER_PATH } from './failure-converter-path.js';
import type { CodecKey } from './codec-key.js';
import type { KeyPair } from '../crypto/identity.js';

/**
 * What the coordinator's worker and every platform client use: all payloads through the encrypting codec, and
 * failure messages and stack traces moved into an encoded (so encrypted) payload instead of plain history fields.
 * `coordinatorBox` (the coordinator's own box key pair) also opens what operators seal to the coordinator
 * (their failures and heartbeat details: src/operator/sealing-codec.ts).
 */
export function coordinatorDataConverter(key: CodecKey, coordinatorBox?: KeyPair): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(key, [], coordinatorBox)],
    failureConverterPath: ENCODED_FAILURES_CONVERTER_PATH,
  };
}
