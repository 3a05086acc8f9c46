/**
 * Seeded logit noise for the honest-heterogeneous test operator: a stand-in for another GPU, whose float sums
 * in another order flip near-tied argmaxes. TEST AND BENCHMARK ONLY: operator configuration refuses it outside
 * NODE_ENV=test (src/operator/config.ts).
 *
 * noise(token) = size × σ(row) × N(0, 1), with N drawn from a PRNG seeded by (seed, the token ids so far): the
 * same seed and prompt give the same text on every run; another seed is another "device".
 */
import { mulberry32 } from '../shared/prng.js';

export interface LogitNoise {
  /** Noise standard deviation in units of the row's logit standard deviation (e.g. 0.01). */
  size: number;
  seed: number;
}

/** FNV-1a over the sequence so far (prompt + generated ids), folded with the seed. */
export function contextSeed(seed: number, ids: readonly (number | bigint)[]): number {
  let h = 0x811c9dc5 ^ seed;
  for (const id of ids) {
    h = Math.imul(h ^ (Number(id) & 0xffff), 0x01000193);
    h = Math.imul(h ^ (Number(id) >>> 16), 0x01000193);
  }
  return mix(h >>> 0);
}

function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function rowStd(row: Float32Array): number {
  let sum = 0;
  let sumSq = 0;
  for (const v of row) {
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / row.length;
  return Math.sqrt(Math.max(0, sumSq / row.length - mean * mean));
}

/** Adds noise to one row of logits in place; `stream` (from contextSeed) selects the noise draw. */
export function perturbLogits(row: Float32Array, stream: number, noise: LogitNoise): void {
  if (noise.size === 0) return;
  const scale = noise.size * rowStd(row);
  const random = mulberry32(stream);
  for (let i = 0; i < row.length; i += 2) {
    // Box-Muller: two independent normals per pair of uniforms.
    const u = 1 - random();
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    row[i] = row[i]! + scale * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < row.length) row[i + 1] = row[i + 1]! + scale * r * Math.sin(2 * Math.PI * v);
  }
}

export function validateLogitNoise(noise: LogitNoise): void {
  if (!Number.isFinite(noise.size) || noise.size < 0 || noise.size > 10) throw new RangeError('logit noise size must be in [0, 10]');
  if (!Number.isInteger(noise.seed) || noise.seed < 0 || noise.seed > 0xffffffff) throw new RangeError('logit noise seed must be a uint32');
}
