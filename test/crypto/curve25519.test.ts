import nacl from 'tweetnacl';
import { boxOpen, boxPublicKeyOf, boxSharedKey, sealBox, signDetachedBytes, verifyDetachedBytes } from '../../src/crypto/curve25519.js';

/** The Ed25519 group order L, little-endian: S + L is the same signature in a non-canonical encoding. */
const L = [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];

function addL(signature: Uint8Array): Uint8Array {
  const out = Uint8Array.from(signature);
  let carry = 0;
  for (let i = 0; i < 32; i += 1) {
    const sum = out[32 + i]! + L[i]! + carry;
    out[32 + i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

describe('curve25519: tweetnacl results from OpenSSL', () => {
  test('box keys, shared keys and detached signatures are byte for byte tweetnacl’s, and boxes interoperate both ways', () => {
    for (let i = 0; i < 16; i += 1) {
      const alice = nacl.box.keyPair();
      const bob = nacl.box.keyPair();
      const message = nacl.randomBytes(i * 29);
      const nonce = nacl.randomBytes(nacl.box.nonceLength);
      expect(boxPublicKeyOf(alice.secretKey)).toEqual(alice.publicKey);
      expect(boxSharedKey(bob.publicKey, alice.secretKey)).toEqual(nacl.box.before(bob.publicKey, alice.secretKey));
      // Sealed here, opened by tweetnacl; sealed by tweetnacl, opened here.
      const sealed = sealBox(message, nonce, bob.publicKey);
      expect(nacl.box.open(sealed.boxed, nonce, sealed.ephemeralPublicKey, bob.secretKey)).toEqual(message);
      expect(boxOpen(nacl.box(message, nonce, bob.publicKey, alice.secretKey), nonce, alice.publicKey, bob.secretKey)).toEqual(message);
      const signer = nacl.sign.keyPair();
      const signature = signDetachedBytes(message, signer.secretKey);
      expect(signature).toEqual(nacl.sign.detached(message, signer.secretKey));
      expect(verifyDetachedBytes(message, nacl.sign.detached(message, signer.secretKey), signer.publicKey)).toBe(true);
    }
  });

  test('every ephemeral key is fresh', () => {
    const bob = nacl.box.keyPair();
    const keys = new Set(Array.from({ length: 32 }, () => Buffer.from(sealBox(new Uint8Array(1), nacl.randomBytes(24), bob.publicKey).ephemeralPublicKey).toString('hex')));
    expect(keys.size).toBe(32);
  });

  test('a box altered in any byte, or opened with another key, does not open', () => {
    const bob = nacl.box.keyPair();
    const nonce = nacl.randomBytes(24);
    const { ephemeralPublicKey, boxed } = sealBox(new Uint8Array([1, 2, 3]), nonce, bob.publicKey);
    for (let i = 0; i < boxed.length; i += 1) {
      const altered = Uint8Array.from(boxed);
      altered[i] = altered[i]! ^ 1;
      expect(boxOpen(altered, nonce, ephemeralPublicKey, bob.secretKey)).toBeNull();
    }
    expect(boxOpen(boxed, nonce, ephemeralPublicKey, nacl.box.keyPair().secretKey)).toBeNull();
    expect(boxOpen(boxed, nonce, ephemeralPublicKey, bob.secretKey)).toEqual(new Uint8Array([1, 2, 3]));
  });

  test('a low-order recipient key is refused instead of boxing to a key anyone can compute', () => {
    // The all-zero point: X25519 with it gives an all-zero shared secret, which tweetnacl would use as is.
    const lowOrder = new Uint8Array(32);
    expect(() => sealBox(new Uint8Array(4), nacl.randomBytes(24), lowOrder)).toThrow(RangeError);
    expect(boxSharedKey(lowOrder, nacl.box.keyPair().secretKey)).toBeNull();
    expect(() => sealBox(new Uint8Array(4), nacl.randomBytes(24), new Uint8Array(31))).toThrow(RangeError);
  });

  test('signatures: a changed message, key or signature fails, and so does a non-canonical S that tweetnacl accepts', () => {
    const signer = nacl.sign.keyPair();
    const message = new TextEncoder().encode('parallelix');
    const signature = signDetachedBytes(message, signer.secretKey);
    expect(verifyDetachedBytes(message, signature, signer.publicKey)).toBe(true);
    expect(verifyDetachedBytes(new TextEncoder().encode('parallelaX'), signature, signer.publicKey)).toBe(false);
    expect(verifyDetachedBytes(message, signature, nacl.sign.keyPair().publicKey)).toBe(false);
    const flipped = Uint8Array.from(signature);
    flipped[0] = flipped[0]! ^ 1;
    expect(verifyDetachedBytes(message, flipped, signer.publicKey)).toBe(false);
    expect(verifyDetachedBytes(message, signature.subarray(0, 63), signer.publicKey)).toBe(false);
    expect(verifyDetachedBytes(message, signature, signer.publicKey.subarray(0, 31))).toBe(false);
    // S + L verifies in tweetnacl (it does not check S < L): a second encoding of one signature. OpenSSL refuses it.
    const malleated = addL(signature);
    expect(nacl.sign.detached.verify(message, malleated, signer.publicKey)).toBe(true);
    expect(verifyDetachedBytes(message, malleated, signer.publicKey)).toBe(false);
  });
});
