import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';

/**
 * The curve operations of tweetnacl's `box` and `sign`, done by OpenSSL through node:crypto, byte for byte the same
 * results: X25519 (box key pairs, the shared key of `box.before`) and Ed25519 (detached signatures). tweetnacl's
 * pure-JavaScript field arithmetic took most of an operator's CPU per request (a fresh ephemeral key per sealed
 * payload costs two scalar multiplications) and a fifth of the coordinator's; the symmetric part (HSalsa20,
 * XSalsa20-Poly1305) stays tweetnacl's, so every envelope is still a standard NaCl box that any tweetnacl or
 * libsodium peer opens. Verification is at least as strict as tweetnacl's (OpenSSL also refuses a non-canonical S).
 */

const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** "expand 32-byte k": the Salsa20 constant crypto_box_beforenm feeds HSalsa20. */
const SIGMA = new Uint8Array([101, 120, 112, 97, 110, 100, 32, 51, 50, 45, 98, 121, 116, 101, 32, 107]);
const ZERO_16 = new Uint8Array(16);
const KEY_LENGTH = 32;
/** tweetnacl exports its primitives as `lowlevel` at run time; its type declarations leave them out. */
const { crypto_core_hsalsa20: hsalsa20 } = (nacl as unknown as { lowlevel: { crypto_core_hsalsa20(out: Uint8Array, input: Uint8Array, key: Uint8Array, constant: Uint8Array): number } }).lowlevel;

type Curve = 'X25519' | 'Ed25519';

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/** Public keys go in and out as JWK: an order of magnitude cheaper in Node than DER (9 vs 110 µs an import). */
function importPublicKey(curve: Curve, raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: curve, x: base64url(raw) }, format: 'jwk' });
}

function exportPublicKey(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url'));
}

/** Long-lived public keys (the coordinator's, each node's): parsed once. Ephemeral ones are never cached. */
const PUBLIC_KEY_CACHE_SIZE = 1024;
const publicKeys = new Map<string, KeyObject>();

function cachedPublicKey(curve: Curve, raw: Uint8Array): KeyObject {
  const id = `${curve}:${base64url(raw)}`;
  let key = publicKeys.get(id);
  if (!key) {
    key = importPublicKey(curve, raw);
    if (publicKeys.size >= PUBLIC_KEY_CACHE_SIZE) publicKeys.delete(publicKeys.keys().next().value as string);
    publicKeys.set(id, key);
  }
  return key;
}

/** Long-lived secret keys (an identity's arrays): parsed once per array, held no longer than the array. */
const secretKeys = new WeakMap<Uint8Array, KeyObject>();

function secretKeyObject(prefix: Buffer, seed: Uint8Array, owner: Uint8Array): KeyObject {
  let key = secretKeys.get(owner);
  if (!key) {
    key = createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
    secretKeys.set(owner, key);
  }
  return key;
}

/**
 * nacl.box.before: HSalsa20 of the X25519 shared secret. Null when the peer's key is not a usable X25519 key
 * (wrong length, or a low-order point whose shared secret is all zeros: OpenSSL refuses it, tweetnacl would box
 * to a key anyone knows).
 */
function sharedKey(theirPublicKey: Uint8Array, mine: KeyObject, theirsIsEphemeral: boolean): Uint8Array | null {
  if (theirPublicKey.byteLength !== KEY_LENGTH) return null;
  let shared: Buffer;
  try {
    const theirs = theirsIsEphemeral ? importPublicKey('X25519', theirPublicKey) : cachedPublicKey('X25519', theirPublicKey);
    shared = diffieHellman({ privateKey: mine, publicKey: theirs });
  } catch {
    return null;
  }
  const key = new Uint8Array(KEY_LENGTH);
  hsalsa20(key, ZERO_16, new Uint8Array(shared), SIGMA);
  shared.fill(0);
  return key;
}

/** nacl.box.before with a long-lived secret key of ours; `theirsIsEphemeral` keeps a one-time key out of the cache. */
export function boxSharedKey(theirPublicKey: Uint8Array, mySecretKey: Uint8Array, theirsIsEphemeral = false): Uint8Array | null {
  if (mySecretKey.byteLength !== KEY_LENGTH) return null;
  return sharedKey(theirPublicKey, secretKeyObject(X25519_PKCS8_PREFIX, mySecretKey, mySecretKey), theirsIsEphemeral);
}

/** The X25519 public key of a secret key (as nacl.box.keyPair.fromSecretKey). */
export function boxPublicKeyOf(secretKey: Uint8Array): Uint8Array {
  return exportPublicKey(createPublicKey(secretKeyObject(X25519_PKCS8_PREFIX, secretKey, secretKey)));
}

/**
 * nacl.box from a fresh ephemeral key pair whose secret half never leaves OpenSSL (nothing to wipe). Throws a
 * RangeError when the recipient key is unusable (see sharedKey).
 */
export function sealBox(message: Uint8Array, nonce: Uint8Array, theirPublicKey: Uint8Array): { ephemeralPublicKey: Uint8Array; boxed: Uint8Array } {
  const ephemeral = generateKeyPairSync('x25519');
  const key = sharedKey(theirPublicKey, ephemeral.privateKey, false);
  if (!key) throw new RangeError('the recipient box key is not a usable X25519 public key');
  const boxed = nacl.box.after(message, nonce, key);
  key.fill(0);
  return { ephemeralPublicKey: exportPublicKey(ephemeral.publicKey), boxed };
}

/**
 * nacl.box.open of a box sealed from an ephemeral key (every box this project opens): null when it does not
 * authenticate (or the sender key is unusable).
 */
export function boxOpen(boxed: Uint8Array, nonce: Uint8Array, ephemeralPublicKey: Uint8Array, mySecretKey: Uint8Array): Uint8Array | null {
  const key = boxSharedKey(ephemeralPublicKey, mySecretKey, true);
  if (!key) return null;
  const opened = nacl.box.open.after(boxed, nonce, key);
  key.fill(0);
  return opened;
}

/** nacl.sign.detached with a 64-byte tweetnacl secret key (seed ‖ public key). */
export function signDetachedBytes(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.byteLength !== nacl.sign.secretKeyLength) throw new RangeError('an Ed25519 secret key is 64 bytes');
  return new Uint8Array(sign(null, message, secretKeyObject(ED25519_PKCS8_PREFIX, secretKey.subarray(0, 32), secretKey)));
}

/** nacl.sign.detached.verify; false for a malformed key or signature. */
export function verifyDetachedBytes(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.byteLength !== nacl.sign.signatureLength || publicKey.byteLength !== nacl.sign.publicKeyLength) return false;
  try {
    return verify(null, message, cachedPublicKey('Ed25519', publicKey), signature);
  } catch {
    return false;
  }
}
