import type { Tensor } from '@huggingface/transformers';
import { scorePosition, type PositionScore } from '../sampling/position-score.js';

/** float16 bit pattern → number, for every pattern (256 KiB, built on first use). */
let halfTable: Float32Array | undefined;

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function table(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits += 1) halfTable[bits] = halfToFloat(bits);
  }
  return halfTable;
}

/**
 * Row-by-row scoring of a [1, rows, vocab] logits tensor without converting it (a real model's full-sequence
 * logits in float32 would be rows × 150k × 4 bytes). float16 logits arrive as raw bits (Uint16Array) where the
 * runtime has no Float16Array; they are decoded through a table while scanning.
 */
export class LogitRows {
  readonly rows: number;
  readonly vocab: number;

  constructor(private readonly logits: Tensor) {
    const dims = logits.dims;
    if (dims.length !== 3 || dims[0] !== 1) throw new Error(`expected logits of shape [1, rows, vocab], got [${dims.join(', ')}]`);
    this.rows = dims[1]!;
    this.vocab = dims[2]!;
  }

  /** Scores token `claimed` against row `index` (src/sampling/position-score.ts), reading float16 bits in place. */
  score(index: number, claimed: number): PositionScore {
    if (index < 0 || index >= this.rows) throw new RangeError(`logits row ${index} out of [0, ${this.rows})`);
    const data = this.logits.data as ArrayLike<number>;
    const half = this.logits.type === 'float16' && data instanceof Uint16Array;
    return scorePosition(data, index * this.vocab, this.vocab, claimed, half ? table() : undefined);
  }
}
