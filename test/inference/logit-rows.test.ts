import type { Tensor } from '@huggingface/transformers';
import { LogitRows } from '../../src/inference/logit-rows.js';
import { scorePosition } from '../../src/sampling/position-score.js';

/** float32 → float16 bits (round to nearest even is not needed for these exactly representable values). */
function half(value: number): number {
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = (bits >>> 13) & 0x3ff;
  if (value === 0) return sign;
  return sign | (exponent << 10) | mantissa;
}

const tensor = (type: string, data: ArrayLike<number>, dims: number[]): Tensor => ({ type, data, dims }) as unknown as Tensor;

describe('LogitRows', () => {
  const values = [0.5, -2, 3, 1.25, 3, -0.75, 65504, 2 ** -10];
  test('float16 rows score exactly like their float32 values', () => {
    const bits = Uint16Array.from(values.map(half));
    const rows16 = new LogitRows(tensor('float16', bits, [1, 2, 4]));
    const rows32 = new LogitRows(tensor('float32', Float32Array.from(values), [1, 2, 4]));
    for (const row of [0, 1]) {
      for (let id = 0; id < 4; id += 1) {
        expect(rows16.score(row, id)).toEqual(scorePosition(values, row * 4, 4, id));
        expect(rows32.score(row, id)).toEqual(scorePosition(values, row * 4, 4, id));
      }
    }
    expect(rows16.score(0, 2)).toEqual({ gap: 0, rank: 0 });
    expect(rows16.score(1, 0).rank).toBe(1); // 3 < 65504
  });

  test('shape and row bounds are checked', () => {
    expect(() => new LogitRows(tensor('float32', new Float32Array(8), [2, 1, 4]))).toThrow('[1, rows, vocab]');
    const rows = new LogitRows(tensor('float32', new Float32Array(8), [1, 2, 4]));
    expect(() => rows.score(2, 0)).toThrow(RangeError);
  });
});
