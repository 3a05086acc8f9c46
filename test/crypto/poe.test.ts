import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/shared/paths.js';
import { computePoe, poeMatches, poePreimage, signPoe, verifyPoeSignature, POE_DOMAIN } from '../../src/crypto/poe.js';
import { createIdentity, publicIdentity } from '../../src/crypto/identity.js';
import { lengthPrefixedConcat, splitLengthPrefixed, toHex } from '../../src/crypto/encoding.js';
import { InvalidInputError } from '../../src/shared/errors.js';

interface Vector { name: string; requestId: string; result: string; nodeId: string; preimageHex: string; poe: string }
interface VectorFile { domain: string; vectors: Vector[]; naiveCollisionGroups: { why: string; names: string[] }[] }

const fixture = JSON.parse(
  readFileSync(path.join(projectRoot, 'test', 'fixtures', 'poe-vectors.json'), 'utf8'),
) as VectorFile;

/** Independent reference: node:crypto SHA-256 over a hand-built Buffer. */
function referencePoe(fields: string[]): string {
  const parts = fields.flatMap((f) => {
    const bytes = Buffer.from(f, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    return [len, bytes];
  });
  return createHash('sha256').update(Buffer.concat(parts)).digest('hex');
}

describe('PoE', () => {
  test('fixture domain is the code domain', () => {
    expect(fixture.domain).toBe(POE_DOMAIN);
    expect(fixture.vectors.length).toBeGreaterThanOrEqual(10);
  });

  test.each(fixture.vectors.map((v) => [v.name, v] as const))('vector: %s', (_name, v) => {
    expect(toHex(poePreimage(v))).toBe(v.preimageHex);
    expect(computePoe(v)).toBe(v.poe);
    expect(referencePoe([POE_DOMAIN, v.requestId, v.result, v.nodeId])).toBe(v.poe);
    expect(poeMatches(v, v.poe.toUpperCase())).toBe(true);
    expect(poeMatches({ ...v, result: v.result + ' ' }, v.poe)).toBe(false);
  });

  test('inputs that collide under naive concatenation get distinct PoEs', () => {
    const byName = new Map(fixture.vectors.map((v) => [v.name, v]));
    for (const group of fixture.naiveCollisionGroups) {
      const members = group.names.map((n) => byName.get(n)!);
      expect(members.every(Boolean)).toBe(true);
      const naive = new Set(members.map((v) => v.requestId + v.result + v.nodeId));
      const piped = new Set(members.map((v) => [v.requestId, v.result, v.nodeId].join('|')));
      expect(Math.min(naive.size, piped.size)).toBe(1); // the group really collides naively
      expect(new Set(members.map((v) => computePoe(v))).size).toBe(members.length);
    }
  });

  test('lone surrogates are rejected instead of collapsing to U+FFFD', () => {
    expect(() => computePoe({ requestId: 'r', result: 'a\uD800b', nodeId: 'n' })).toThrow(InvalidInputError);
    expect(computePoe({ requestId: 'r', result: '👋', nodeId: 'n' })).toMatch(/^[0-9a-f]{64}$/);
  });

  test('length-prefixed encoding round-trips and refuses truncation', () => {
    const fields = [new Uint8Array([]), new Uint8Array([0, 0, 0, 1]), new Uint8Array(300).fill(7)];
    const encoded = lengthPrefixedConcat(fields);
    expect(splitLengthPrefixed(encoded)).toEqual(fields);
    expect(() => splitLengthPrefixed(encoded.slice(0, encoded.length - 1))).toThrow(InvalidInputError);
  });

  test('PoE signature verifies with the signer key only', () => {
    const node = createIdentity();
    const other = createIdentity();
    const poe = computePoe({ requestId: 'req-9', result: 'out', nodeId: node.nodeId });
    const signature = signPoe(poe, node.sign.secretKey);
    expect(verifyPoeSignature(poe, signature, publicIdentity(node).signPublicKey)).toBe(true);
    expect(verifyPoeSignature(poe, signature, other.sign.publicKey)).toBe(false);
    const otherPoe = computePoe({ requestId: 'req-9', result: 'out!', nodeId: node.nodeId });
    expect(verifyPoeSignature(otherPoe, signature, node.sign.publicKey)).toBe(false);
    expect(verifyPoeSignature('not-hex', signature, node.sign.publicKey)).toBe(false);
    expect(verifyPoeSignature(poe, 'garbage', node.sign.publicKey)).toBe(false);
  });
});
