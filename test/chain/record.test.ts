import { InvalidInputError } from '../../src/shared/errors.js';
import { digestToBytes32, idToBytes32, toChainRecord, ZERO_BYTES32 } from '../../src/chain/record.js';

const POE = 'ab'.repeat(32);

describe('record conversion', () => {
  test('ids map to SHA-256 of their UTF-8 bytes', () => {
    // SHA-256("abc"), FIPS 180-2 test vector
    expect(idToBytes32('abc')).toBe('0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(idToBytes32('node-1')).not.toBe(idToBytes32('node-2'));
    expect(() => idToBytes32('')).toThrow(InvalidInputError);
  });

  test('digests must be exactly 32 bytes of hex', () => {
    expect(digestToBytes32(POE)).toBe(`0x${POE}`);
    expect(digestToBytes32(`0x${POE.toUpperCase()}`)).toBe(`0x${POE}`);
    expect(() => digestToBytes32('ab'.repeat(31))).toThrow(InvalidInputError);
    expect(() => digestToBytes32('zz'.repeat(32))).toThrow(InvalidInputError);
  });

  test('verdict and sampled node must agree', () => {
    const base = { requestId: 'r', nodeId: 'node-a', poe: POE } as const;
    expect(toChainRecord({ ...base, verdict: 'Accepted' }).sampledNodeKey).toBe(ZERO_BYTES32);
    expect(toChainRecord({ ...base, verdict: 'AcceptedSampledAgree', sampledNodeId: 'node-b' }).verdict).toBe(2);
    expect(() => toChainRecord({ ...base, verdict: 'Accepted', sampledNodeId: 'node-b' })).toThrow(InvalidInputError);
    expect(() => toChainRecord({ ...base, verdict: 'MajorityOverruled' })).toThrow(InvalidInputError);
    expect(() => toChainRecord({ ...base, verdict: 'MajorityOverruled', sampledNodeId: 'node-a' })).toThrow(InvalidInputError);
  });
});
