import nacl from 'tweetnacl';
import { InvalidInputError } from '../shared/errors.js';
import {
  fromBase64,
  lengthPrefixedConcat,
  splitLengthPrefixed,
  toBase64,
  utf8Decode,
  utf8Encode,
} from './encoding.js';
import { EnvelopeNotForThisNodeError, EnvelopeRequestMismatchError, EnvelopeTamperedError } from './errors.js';
import { boxOpen, sealBox } from './curve25519.js';

/**
 * Sealed envelope (steps 04/06 and the result sealed back in 09): a NaCl `box`
 * (X25519 + XSalsa20-Poly1305, curve25519.ts) from a FRESH ephemeral key pair to the recipient's box key.
 * The ephemeral secret key never leaves OpenSSL and is dropped after sealing, so not even the sender can open it.
 *
 * Inside the box (authenticated, so it cannot be swapped):
 *   LP("parallelix-envelope-v1") ‖ LP(kind) ‖ LP(requestId or "") ‖ LP(body)
 * kind is "bytes" | "text" | "json"; binding the request id lets the receiver refuse an
 * envelope replayed under another request (`expectRequestId`).
 */
export interface SealedEnvelope {
  v: 1;
  /** Recipient's X25519 public key, base64 (a routing hint; the box itself enforces it). */
  recipient: string;
  ephemeralPublicKey: string;
  nonce: string;
  ciphertext: string;
}

export type EnvelopePlaintext = Uint8Array | string | Record<string, unknown> | unknown[];

export type OpenedEnvelope =
  | { kind: 'bytes'; data: Uint8Array; requestId: string | null }
  | { kind: 'text'; data: string; requestId: string | null }
  | { kind: 'json'; data: unknown; requestId: string | null };

export interface SealOptions {
  /** Binds the envelope to this request id. */
  requestId?: string;
}

export interface OpenOptions {
  /** Refuse (EnvelopeRequestMismatchError) unless the envelope is bound to exactly this request id. */
  expectRequestId?: string;
}

const ENVELOPE_DOMAIN = 'parallelix-envelope-v1';
const KINDS = new Set(['bytes', 'text', 'json']);

function keyBytes(key: Uint8Array | string, what: string): Uint8Array {
  const bytes = typeof key === 'string' ? fromBase64(key) : Uint8Array.from(key);
  if (bytes.byteLength !== nacl.box.publicKeyLength) throw new InvalidInputError(`${what} must be 32 bytes`);
  return bytes;
}

function encodeBody(plaintext: EnvelopePlaintext): { kind: OpenedEnvelope['kind']; body: Uint8Array } {
  if (plaintext instanceof Uint8Array || ArrayBuffer.isView(plaintext)) {
    const view = plaintext as Uint8Array;
    return { kind: 'bytes', body: new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength)) };
  }
  if (typeof plaintext === 'string') return { kind: 'text', body: utf8Encode(plaintext) };
  const json = JSON.stringify(plaintext);
  if (json === undefined) throw new InvalidInputError('Envelope plaintext is not JSON-serialisable');
  return { kind: 'json', body: utf8Encode(json) };
}

export function sealEnvelope(
  plaintext: EnvelopePlaintext,
  recipientBoxPublicKey: Uint8Array | string,
  options: SealOptions = {},
): SealedEnvelope {
  const recipient = keyBytes(recipientBoxPublicKey, 'Recipient box public key');
  const { kind, body } = encodeBody(plaintext);
  const inner = lengthPrefixedConcat([
    utf8Encode(ENVELOPE_DOMAIN),
    utf8Encode(kind),
    utf8Encode(options.requestId ?? ''),
    body,
  ]);
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  let sealed: ReturnType<typeof sealBox>;
  try {
    sealed = sealBox(inner, nonce, recipient);
  } catch (error) {
    throw new InvalidInputError('Recipient box public key is not a usable X25519 key', { cause: error });
  }
  return {
    v: 1,
    recipient: toBase64(recipient),
    ephemeralPublicKey: toBase64(sealed.ephemeralPublicKey),
    nonce: toBase64(nonce),
    ciphertext: toBase64(sealed.boxed),
  };
}

/** Shape check only (no crypto): lets a payload codec recognise an envelope and pass it through. */
export function isSealedEnvelope(value: unknown): value is SealedEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    e.v === 1 &&
    typeof e.recipient === 'string' &&
    typeof e.ephemeralPublicKey === 'string' &&
    typeof e.nonce === 'string' &&
    typeof e.ciphertext === 'string'
  );
}

function decodeField(value: string, length: number | null, name: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(value);
  } catch {
    throw new EnvelopeTamperedError(`Envelope ${name} is not base64`);
  }
  if (length !== null && bytes.byteLength !== length) throw new EnvelopeTamperedError(`Envelope ${name} has a wrong length`);
  return bytes;
}

export function openEnvelope(
  envelope: SealedEnvelope,
  recipientBoxSecretKey: Uint8Array,
  recipientBoxPublicKey: Uint8Array | string,
  options: OpenOptions = {},
): OpenedEnvelope {
  if (!isSealedEnvelope(envelope)) throw new EnvelopeTamperedError('Malformed envelope');
  const ownKey = toBase64(keyBytes(recipientBoxPublicKey, 'Recipient box public key'));
  if (envelope.recipient !== ownKey) {
    throw new EnvelopeNotForThisNodeError('Envelope is sealed to another recipient key');
  }
  const ephemeralPublicKey = decodeField(envelope.ephemeralPublicKey, nacl.box.publicKeyLength, 'ephemeral key');
  const nonce = decodeField(envelope.nonce, nacl.box.nonceLength, 'nonce');
  const ciphertext = decodeField(envelope.ciphertext, null, 'ciphertext');
  const inner = boxOpen(ciphertext, nonce, ephemeralPublicKey, recipientBoxSecretKey);
  if (inner === null) throw new EnvelopeTamperedError('Envelope failed authentication (altered, or not this key)');

  let domain: string, kind: string, requestId: string, body: Uint8Array;
  try {
    const fields = splitLengthPrefixed(inner);
    if (fields.length !== 4) throw new Error('field count');
    [domain, kind, requestId] = fields.slice(0, 3).map((f) => utf8Decode(f)) as [string, string, string];
    body = fields[3] as Uint8Array;
  } catch {
    throw new EnvelopeTamperedError('Envelope plaintext is malformed');
  }
  if (domain !== ENVELOPE_DOMAIN || !KINDS.has(kind)) throw new EnvelopeTamperedError('Unknown envelope format');
  const boundRequestId = requestId === '' ? null : requestId;
  if (options.expectRequestId !== undefined && boundRequestId !== options.expectRequestId) {
    throw new EnvelopeRequestMismatchError('Envelope is bound to another request', {
      details: `expected ${options.expectRequestId}, envelope has ${boundRequestId ?? '(none)'}`,
    });
  }
  try {
    if (kind === 'bytes') return { kind, data: body, requestId: boundRequestId };
    const text = utf8Decode(body);
    if (kind === 'text') return { kind, data: text, requestId: boundRequestId };
    return { kind: 'json', data: JSON.parse(text) as unknown, requestId: boundRequestId };
  } catch {
    throw new EnvelopeTamperedError('Envelope body is malformed');
  }
}

/** Opens an envelope that must carry JSON (e.g. an inference request); the caller validates the shape. */
export function openJsonEnvelope(
  envelope: SealedEnvelope,
  recipientBoxSecretKey: Uint8Array,
  recipientBoxPublicKey: Uint8Array | string,
  options: OpenOptions = {},
): unknown {
  const opened = openEnvelope(envelope, recipientBoxSecretKey, recipientBoxPublicKey, options);
  if (opened.kind !== 'json') throw new InvalidInputError(`Expected a JSON envelope, got ${opened.kind}`);
  return opened.data;
}
