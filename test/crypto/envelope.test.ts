import { createIdentity } from '../../src/crypto/identity.js';
import { isSealedEnvelope, openEnvelope, openJsonEnvelope, sealEnvelope, type SealedEnvelope } from '../../src/crypto/envelope.js';
import { fromBase64, toBase64 } from '../../src/crypto/encoding.js';
import {
  EnvelopeNotForThisNodeError,
  EnvelopeRequestMismatchError,
  EnvelopeTamperedError,
} from '../../src/crypto/errors.js';

const node = createIdentity();
const other = createIdentity();

function flipByte(b64: string, index: number): string {
  const bytes = fromBase64(b64);
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return toBase64(bytes);
}

describe('sealed envelope', () => {
  test('round-trips JSON, text and bytes, and survives JSON serialisation', () => {
    const request = { messages: [{ role: 'user', content: 'Héllo 👋' }], maxNewTokens: 8 };
    const wire = JSON.parse(JSON.stringify(sealEnvelope(request, node.box.publicKey, { requestId: 'req-1' }))) as SealedEnvelope;
    expect(isSealedEnvelope(wire)).toBe(true);
    expect(JSON.stringify(wire)).not.toContain('Héllo');
    const opened = openEnvelope(wire, node.box.secretKey, node.box.publicKey, { expectRequestId: 'req-1' });
    expect(opened).toEqual({ kind: 'json', data: request, requestId: 'req-1' });

    const text = openEnvelope(sealEnvelope('plain text', toBase64(node.box.publicKey)), node.box.secretKey, node.box.publicKey);
    expect(text).toEqual({ kind: 'text', data: 'plain text', requestId: null });

    const bytes = new Uint8Array([0, 1, 2, 255]);
    const openedBytes = openEnvelope(sealEnvelope(bytes, node.box.publicKey), node.box.secretKey, node.box.publicKey);
    expect(openedBytes.kind).toBe('bytes');
    expect(Array.from(openedBytes.data as Uint8Array)).toEqual([0, 1, 2, 255]);
  });

  test('a fresh ephemeral key and nonce per envelope', () => {
    const a = sealEnvelope({ same: true }, node.box.publicKey);
    const b = sealEnvelope({ same: true }, node.box.publicKey);
    expect(a.ephemeralPublicKey).not.toBe(b.ephemeralPublicKey);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(a.ephemeralPublicKey).not.toBe(toBase64(node.box.publicKey));
  });

  test('another node cannot open it', () => {
    const env = sealEnvelope({ secret: 1 }, node.box.publicKey);
    expect(() => openEnvelope(env, other.box.secretKey, other.box.publicKey)).toThrow(EnvelopeNotForThisNodeError);
    // Even claiming to be the recipient, the wrong secret key fails authentication.
    expect(() => openEnvelope(env, other.box.secretKey, node.box.publicKey)).toThrow(EnvelopeTamperedError);
    // Rewriting the recipient field does not help either.
    const redirected = { ...env, recipient: toBase64(other.box.publicKey) };
    expect(() => openEnvelope(redirected, other.box.secretKey, other.box.publicKey)).toThrow(EnvelopeTamperedError);
  });

  test('any altered byte is detected', () => {
    const env = sealEnvelope({ secret: 1 }, node.box.publicKey);
    const open = (e: SealedEnvelope) => () => openEnvelope(e, node.box.secretKey, node.box.publicKey);
    expect(open(env)).not.toThrow();
    expect(open({ ...env, ciphertext: flipByte(env.ciphertext, 0) })).toThrow(EnvelopeTamperedError);
    expect(open({ ...env, ciphertext: flipByte(env.ciphertext, fromBase64(env.ciphertext).length - 1) })).toThrow(EnvelopeTamperedError);
    expect(open({ ...env, nonce: flipByte(env.nonce, 3) })).toThrow(EnvelopeTamperedError);
    expect(open({ ...env, ephemeralPublicKey: flipByte(env.ephemeralPublicKey, 5) })).toThrow(EnvelopeTamperedError);
    expect(open({ ...env, ciphertext: env.ciphertext.slice(0, 8) })).toThrow(EnvelopeTamperedError);
    expect(open({ ...env, nonce: 'not base64!' })).toThrow(EnvelopeTamperedError);
    expect(open({ ...env, v: 2 } as unknown as SealedEnvelope)).toThrow(EnvelopeTamperedError);
  });

  test('an envelope bound to one request is refused for another', () => {
    const env = sealEnvelope({ prompt: 'x' }, node.box.publicKey, { requestId: 'req-A' });
    expect(() => openJsonEnvelope(env, node.box.secretKey, node.box.publicKey, { expectRequestId: 'req-B' })).toThrow(
      EnvelopeRequestMismatchError,
    );
    const unbound = sealEnvelope({ prompt: 'x' }, node.box.publicKey);
    expect(() => openJsonEnvelope(unbound, node.box.secretKey, node.box.publicKey, { expectRequestId: 'req-A' })).toThrow(
      EnvelopeRequestMismatchError,
    );
    expect(openJsonEnvelope(env, node.box.secretKey, node.box.publicKey, { expectRequestId: 'req-A' })).toEqual({ prompt: 'x' });
  });
});
