/** Which payloads both codecs pass as they are: operator wire messages only, decided by a parse, never by the tag alone. */
import { defaultPayloadConverter } from '@temporalio/common';
import { isOperatorWirePayload } from '../../src/codec/operator-wire-payload.js';
import { OPERATOR_WIRE } from '../../src/protocol/operator-wire.js';

const json = (value: unknown) => defaultPayloadConverter.toPayload(value);

test('a wire message passes; the tag anywhere but at the top, in a string, or outside JSON does not', () => {
  expect(isOperatorWirePayload(json({ wire: OPERATOR_WIRE, nodeId: 'node-a', inFlight: 0, concurrency: 1 }))).toBe(true);
  expect(isOperatorWirePayload(json({ result: { wire: OPERATOR_WIRE, sealedResult: 'x' }, requestId: 'r' }))).toBe(false);
  expect(isOperatorWirePayload(json({ prompt: `say "${OPERATOR_WIRE}"`, wire: 'something else' }))).toBe(false);
  expect(isOperatorWirePayload(json({ requestId: 'r', text: 'a secret answer' }))).toBe(false);
  expect(isOperatorWirePayload(json('plain string'))).toBe(false);
  expect(isOperatorWirePayload(json(undefined))).toBe(false);
  const bytes = new TextEncoder().encode(JSON.stringify({ wire: OPERATOR_WIRE }));
  expect(isOperatorWirePayload({ metadata: { encoding: new TextEncoder().encode('binary/plain') }, data: bytes })).toBe(false);
  // A wire message inside a larger buffer (a view with an offset, as protobuf decoding yields) is still found.
  const pool = new Uint8Array(bytes.length + 10);
  pool.set(bytes, 5);
  expect(isOperatorWirePayload({ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: pool.subarray(5, 5 + bytes.length) })).toBe(true);
});
