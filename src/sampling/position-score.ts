/**
 * Per-position score of a claimed token under the verifier's logits (teacher forcing, step 11 tolerant mode).
 *
 * gap  = (best logit − claimed token's logit) / standard deviation of the position's logits
 * rank = number of vocabulary entries with a strictly higher logit (0: the claimed token is the argmax)
 *
 * The gap is in units of the logit spread, so one tolerance means the same thing for models whose logits have
 * very different scales (a random-weights test model has near-flat logits; a trained one is sharply peaked).
 */
export interface PositionScore {
  gap: number;
  rank: number;
}

/**
 * Scores `claimed` in the logits row `logits[offset .. offset + vocab)`. With `decode`, the row holds raw codes
 * (e.g. float16 bit patterns) and `decode[code]` is the value: one pass, no converted copy of the row.
 */
export function scorePosition(logits: ArrayLike<number>, offset: number, vocab: number, claimed: number, decode?: Float32Array): PositionScore {
  if (!Number.isInteger(claimed) || claimed < 0 || claimed >= vocab) return { gap: Number.POSITIVE_INFINITY, rank: vocab };
  const target = decode ? decode[logits[offset + claimed]!]! : logits[offset + claimed]!;
  let best = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let sumSq = 0;
  let rank = 0;
  for (let i = offset, end = offset + vocab; i < end; i += 1) {
    const v = decode ? decode[logits[i]!]! : logits[i]!;
    if (v > best) best = v;
    if (v > target) rank += 1;
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / vocab;
  const std = Math.sqrt(Math.max(0, sumSq / vocab - mean * mean));
  const raw = best - target;
  // A degenerate row (all equal) has no spread: any token is as good as the best.
  const gap = raw === 0 ? 0 : std > 0 ? raw / std : Number.POSITIVE_INFINITY;
  return { gap, rank };
}
