import { bytesEqual, fromBase64, fromHex, toBase64, toHex, utf8Decode, utf8Encode } from '../../src/crypto/encoding.js';
import { InvalidInputError } from '../../src/shared/errors.js';

describe('encoding helpers', () => {
  test('base64 and hex round-trip and are strict', () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    expect(Array.from(fromBase64(toBase64(bytes)))).toEqual(Array.from(bytes));
    expect(Array.from(fromHex(toHex(bytes)))).toEqual(Array.from(bytes));
    expect(toHex(bytes.subarray(3, 5))).toBe('fafb');
    for (const bad of ['abc', 'ab=c', 'a b=', '****']) expect(() => fromBase64(bad)).toThrow(InvalidInputError);
    for (const bad of ['abc', 'zz', '0x00']) expect(() => fromHex(bad)).toThrow(InvalidInputError);
    expect(fromBase64('').length).toBe(0);
  });

  test('results are plain Uint8Arrays, not Buffers', () => {
    expect(fromBase64('AAE=').constructor).toBe(Uint8Array);
    expect(utf8Encode('x').constructor).toBe(Uint8Array);
  });

  test('UTF-8 is strict both ways', () => {
    expect(utf8Decode(utf8Encode('Ça 👋'))).toBe('Ça 👋');
    expect(() => utf8Encode('\uDC00')).toThrow(InvalidInputError);
    expect(() => utf8Decode(new Uint8Array([0xc3]))).toThrow();
  });

  test('bytesEqual', () => {
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });
});
