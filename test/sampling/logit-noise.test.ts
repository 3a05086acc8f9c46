import { contextSeed, perturbLogits, validateLogitNoise } from '../../src/sampling/logit-noise.js';

function row(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 3);
}

function std(values: ArrayLike<number>): number {
  const a = Array.from(values);
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
}

describe('seeded logit noise (test-only stand-in for another device)', () => {
  test('same seed and context: the same noise; another seed or context: different noise', () => {
    const a = row(1000);
    const b = row(1000);
    perturbLogits(a, contextSeed(7, [1, 2, 3]), { size: 0.1, seed: 7 });
    perturbLogits(b, contextSeed(7, [1, 2, 3]), { size: 0.1, seed: 7 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(contextSeed(7, [1, 2, 3])).not.toBe(contextSeed(8, [1, 2, 3]));
    expect(contextSeed(7, [1, 2, 3])).not.toBe(contextSeed(7, [1, 2, 4]));
    expect(contextSeed(7, [1n, 2n, 3n])).toBe(contextSeed(7, [1, 2, 3]));
  });

  test('noise has the configured size relative to the row spread; size 0 changes nothing', () => {
    const base = row(20000);
    const noisy = Float32Array.from(base);
    perturbLogits(noisy, 12345, { size: 0.05, seed: 1 });
    const diff = Array.from(noisy, (v, i) => v - base[i]!);
    expect(std(diff) / std(base)).toBeGreaterThan(0.045);
    expect(std(diff) / std(base)).toBeLessThan(0.055);
    const same = Float32Array.from(base);
    perturbLogits(same, 12345, { size: 0, seed: 1 });
    expect(Array.from(same)).toEqual(Array.from(base));
  });

  test('bad sizes and seeds are refused', () => {
    expect(() => validateLogitNoise({ size: -0.1, seed: 1 })).toThrow(RangeError);
    expect(() => validateLogitNoise({ size: Number.NaN, seed: 1 })).toThrow(RangeError);
    expect(() => validateLogitNoise({ size: 0.1, seed: 1.5 })).toThrow(RangeError);
    expect(() => validateLogitNoise({ size: 0.1, seed: 3 })).not.toThrow();
  });
});
