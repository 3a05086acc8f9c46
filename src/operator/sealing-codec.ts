import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { ENCODED_FAILURES_CONVERTER_PATH } from '../codec/failure-converter-path.js';
import { isOperatorWirePayload } from '../codec/operator-wire-payload.js';
import { sealPayloadToCoordinator } from '../codec/sealed-payload.js';
import { fromBase64 } from '../crypto/encoding.js';

const decoder = new TextDecoder();
const NULL_PAYLOAD: Payload = { metadata: { encoding: new TextEncoder().encode('binary/null') } };
/** Encodings a party without the coordinator's keys can read (the default payload converter's). */
const READABLE = new Set(['binary/null', 'binary/plain', 'json/plain', 'json/protobuf', 'binary/protobuf']);

/**
 * Payloads a party without the coordinator's keys cannot open (the coordinator's encrypted failure messages, e.g.
 * of a refused registration) read as empty instead of failing the whole call: the failure's type still says what
 * happened.
 */
export function withoutUnreadable(payloads: Payload[]): Payload[] {
  return payloads.map((payload) => (READABLE.has(decoder.decode(payload.metadata?.encoding ?? new Uint8Array())) ? payload : NULL_PAYLOAD));
}

/**
 * The operator's payload codec: operator wire messages (results, probes: public data and sealed envelopes) pass as
 * they are; everything else an operator writes to history (failure messages and stack traces, moved into a payload by
 * the failure converter, failure details, heartbeat details) is sealed to the pinned coordinator box key. Before a
 * key is pinned nothing of the node's is dispatched (dispatches are refused), so such payloads are replaced by an
 * empty one rather than written in clear.
 */
export class CoordinatorSealingCodec implements PayloadCodec {
  constructor(private readonly coordinatorBoxKey: () => string | undefined) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const pinned = this.coordinatorBoxKey();
    const recipient = pinned === undefined ? undefined : fromBase64(pinned);
    return payloads.map((payload) => {
      if (isOperatorWirePayload(payload)) return payload;
      if (!recipient) return NULL_PAYLOAD;
      return sealPayloadToCoordinator(payload, recipient);
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return withoutUnreadable(payloads);
  }
}

/** The operator workers' data converter (they never hold the coordinator's codec key). */
export function operatorDataConverter(coordinatorBoxKey: () => string | undefined): DataConverter {
  return {
    payloadCodecs: [new CoordinatorSealingCodec(coordinatorBoxKey)],
    failureConverterPath: ENCODED_FAILURES_CONVERTER_PATH,
  };
}
