import type { Payload } from '@temporalio/common';
import { isOperatorWireMessage, OPERATOR_WIRE } from '../protocol/operator-wire.js';

const decoder = new TextDecoder();
/** The wire tag as JSON writes it: a payload without these bytes is not parsed at all. */
const WIRE_TAG = Buffer.from(JSON.stringify(OPERATOR_WIRE));

/**
 * A JSON payload that both parties read as is: an operator wire message (public data and envelopes sealed to one
 * party). Every payload either codec encodes passes here, so the bytes are searched for the wire tag before any of
 * them is parsed; the parse then decides.
 */
export function isOperatorWirePayload(payload: Payload): boolean {
  const { data } = payload;
  if (!data || decoder.decode(payload.metadata?.encoding ?? new Uint8Array()) !== 'json/plain') return false;
  if (Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(WIRE_TAG) < 0) return false;
  try {
    return isOperatorWireMessage(JSON.parse(decoder.decode(data)));
  } catch {
    return false;
  }
}
