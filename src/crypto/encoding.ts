import { InvalidInputError } from '../shared/errors.js';

/*
 * Byte helpers. Every function returns a plain Uint8Array created in this module's realm
 * (never a Buffer): tweetnacl checks `instanceof Uint8Array`, which a Buffer from another
 * realm (e.g. a test sandbox) fails.
 */

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const LONE_SURROGATE_RE = /\p{Cs}/u;
const MAX_FIELD_BYTES = 0xffffffff;

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict standard base64 (with padding); throws InvalidInputError on anything else. */
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== 'string' || !BASE64_RE.test(text)) throw new InvalidInputError('Invalid base64 string');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  if (typeof text !== 'string' || !HEX_RE.test(text)) throw new InvalidInputError('Invalid hex string');
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * UTF-8 bytes of a string. Rejects lone surrogates: they would all encode as U+FFFD, so two
 * different strings would share one encoding (and one PoE).
 */
export function utf8Encode(text: string): Uint8Array {
  if (typeof text !== 'string') throw new InvalidInputError('Expected a string');
  if (LONE_SURROGATE_RE.test(text)) throw new InvalidInputError('String is not well-formed Unicode (lone surrogate)');
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** Strict UTF-8 decode: invalid byte sequences throw instead of becoming U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
}

/** Concatenates fields, each as a 4-byte big-endian length followed by its bytes. */
export function lengthPrefixedConcat(fields: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const field of fields) {
    if (field.byteLength > MAX_FIELD_BYTES) throw new InvalidInputError('Field longer than 2^32-1 bytes');
    total += 4 + field.byteLength;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const field of fields) {
    view.setUint32(offset, field.byteLength, false);
    out.set(field, offset + 4);
    offset += 4 + field.byteLength;
  }
  return out;
}

/** Same encoding with UTF-8 strings as fields. */
export function lengthPrefixedStrings(fields: readonly string[]): Uint8Array {
  return lengthPrefixedConcat(fields.map(utf8Encode));
}

/** Inverse of lengthPrefixedConcat; throws InvalidInputError on truncated or trailing bytes. */
export function splitLengthPrefixed(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + 4 > bytes.byteLength) throw new InvalidInputError('Truncated length prefix');
    const length = view.getUint32(offset, false);
    const start = offset + 4;
    if (start + length > bytes.byteLength) throw new InvalidInputError('Truncated field');
    fields.push(bytes.slice(start, start + length));
    offset = start + length;
  }
  return fields;
}

/** Constant-time equality for byte arrays of equal length. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
