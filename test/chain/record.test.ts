import { InvalidInputError } from '../../src/shared/errors.js';
import { digestToBytes32, encodeRecord, fromChainScore, idToBytes32, recordHash, toChainRecord, toChainScore, ZERO_BYTES32, type ExecutionRecordInput } from '../../src/chain/record.js';
import { createIdentity, publicIdentity, signPoe } from '../../src/crypto/index.js';

const POE = 'ab'.repeat(32);
const signer = createIdentity();
const signed = { signPublicKey: publicIdentity(signer).signPublicKey, signature: signPoe(POE, signer.sign.secretKey) };

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

  test('verdict, sampled node and mode must agree', () => {
    const base = { requestId: 'r', nodeId: 'node-a', poe: POE, ...signed } as const;
    expect(toChainRecord({ ...base, verdict: 'Accepted', mode: 'none' }).sampledNodeId).toBe(ZERO_BYTES32);
    expect(toChainRecord({ ...base, verdict: 'AcceptedSampledAgree', sampledNodeId: 'node-b', mode: 'tolerant' }).verdict).toBe(2);
    expect(() => toChainRecord({ ...base, verdict: 'Accepted', sampledNodeId: 'node-b', mode: 'none' })).toThrow(InvalidInputError);
    expect(() => toChainRecord({ ...base, verdict: 'MajorityOverruled', mode: 'exact' })).toThrow(InvalidInputError);
    expect(() => toChainRecord({ ...base, verdict: 'MajorityOverruled', sampledNodeId: 'node-a', mode: 'exact' })).toThrow(InvalidInputError);
    expect(() => toChainRecord({ ...base, verdict: 'Accepted', mode: 'tolerant' })).toThrow('does not fit');
    expect(() => toChainRecord({ ...base, verdict: 'AcceptedSampledAgree', sampledNodeId: 'node-b', mode: 'none' })).toThrow('does not fit');
  });

  test('key and signature must be 32 and 64 bytes of base64', () => {
    const base: ExecutionRecordInput = { requestId: 'r', nodeId: 'node-a', poe: POE, verdict: 'Accepted', mode: 'none', ...signed };
    expect(toChainRecord(base).signature).toMatch(/^0x[0-9a-f]{128}$/);
    expect(() => toChainRecord({ ...base, signature: Buffer.alloc(63).toString('base64') })).toThrow('64 bytes');
    expect(() => toChainRecord({ ...base, signPublicKey: 'not base64!' })).toThrow('base64');
  });

  test('scores saturate at their integer widths and round-trip in 1e-4 σ', () => {
    expect(toChainScore(null)).toEqual({ positions: 0, failing: 0, longestFailRun: 0, maxGap: 0 });
    expect(toChainScore({ positions: 70_000, failing: 3, longestFailRun: 2, maxGap: Number.POSITIVE_INFINITY })).toEqual({
      positions: 65_535,
      failing: 3,
      longestFailRun: 2,
      maxGap: 2 ** 32 - 1,
    });
    expect(fromChainScore(toChainScore({ positions: 32, failing: 1, longestFailRun: 1, maxGap: 0.12345 })).maxGap).toBeCloseTo(0.1235, 10);
  });

  test('one canonical encoding: every field changes the record hash', () => {
    const base: ExecutionRecordInput = {
      requestId: 'r',
      nodeId: 'node-a',
      poe: POE,
      verdict: 'AcceptedSampledAgree',
      sampledNodeId: 'node-b',
      mode: 'tolerant',
      nodeDevice: 'cpu',
      sampledNodeDevice: 'webgpu',
      check: { positions: 32, failing: 0, longestFailRun: 0, maxGap: 0.01 },
      ...signed,
    };
    const hash = recordHash(toChainRecord(base));
    expect(encodeRecord(toChainRecord(base))).toMatch(/^0x/);
    expect(recordHash(toChainRecord({ ...base }))).toBe(hash);
    for (const change of [{ mode: 'exact' as const }, { sampledNodeDevice: 'cpu' as const }, { check: { positions: 32, failing: 1, longestFailRun: 1, maxGap: 0.01 } }, { signature: signPoe('cd'.repeat(32), signer.sign.secretKey) }]) {
      expect(recordHash(toChainRecord({ ...base, ...change }))).not.toBe(hash);
    }
  });
});
