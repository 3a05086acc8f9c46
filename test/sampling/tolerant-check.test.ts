import { scorePosition, type PositionScore } from '../../src/sampling/position-score.js';
import { DEFAULT_TOLERANT_THRESHOLDS, judgeClaim, summarise, validateThresholds, type ClaimShape, type TolerantThresholds } from '../../src/sampling/tolerant-check.js';

const t: TolerantThresholds = { tolerance: 0.5, topK: 1, maxFailShare: 0.1, maxFailRun: 2, maxGap: 2 };
const ok = (n: number): PositionScore[] => Array.from({ length: n }, () => ({ gap: 0, rank: 0 }));
const shape = (n: number, extra: Partial<ClaimShape> = {}): ClaimShape => ({ positions: n, textMatches: true, endsWithEos: false, eosBeforeEnd: false, ...extra });

describe('scorePosition', () => {
  test('gap is the distance to the best logit in standard deviations; rank counts strictly better tokens', () => {
    const row = [1, 3, 2, 3, 0];
    const mean = 9 / 5;
    const std = Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / 5);
    expect(scorePosition(row, 0, 5, 1)).toEqual({ gap: 0, rank: 0 });
    expect(scorePosition(row, 0, 5, 3)).toEqual({ gap: 0, rank: 0 }); // a tie with the best is the best
    expect(scorePosition(row, 0, 5, 2).gap).toBeCloseTo(1 / std, 10);
    expect(scorePosition(row, 0, 5, 2).rank).toBe(2);
    expect(scorePosition(row, 0, 5, 4).gap).toBeCloseTo(3 / std, 10);
    expect(scorePosition(row, 0, 5, 4).rank).toBe(4);
  });

  test('reads the row at its offset, and scales: multiplying all logits changes nothing', () => {
    const row = [9, 9, 9, 0.5, 4, 2.5];
    expect(scorePosition(row, 3, 3, 1)).toEqual(scorePosition([0.5, 4, 2.5], 0, 3, 1));
    const a = scorePosition([0.1, 0.4, 0.2], 0, 3, 2);
    const b = scorePosition([10, 40, 20], 0, 3, 2);
    expect(b.gap).toBeCloseTo(a.gap, 10);
    expect(b.rank).toBe(a.rank);
  });

  test('an id outside the vocabulary is infinitely far; a flat row makes every token as good as the best', () => {
    expect(scorePosition([1, 2], 0, 2, 2)).toEqual({ gap: Number.POSITIVE_INFINITY, rank: 2 });
    expect(scorePosition([1, 2], 0, 2, -1).gap).toBe(Number.POSITIVE_INFINITY);
    expect(scorePosition([5, 5, 5], 0, 3, 1)).toEqual({ gap: 0, rank: 0 });
  });
});

describe('summarise and judgeClaim', () => {
  test('counts failing positions, their share and the longest run', () => {
    const positions = ok(20);
    for (const i of [3, 7, 8, 9, 15]) positions[i] = { gap: 1, rank: 4 };
    const s = summarise(positions, t);
    expect(s).toMatchObject({ positions: 20, failing: 5, failShare: 0.25, longestFailRun: 3, maxGap: 1, firstFailure: 3 });
    expect(s.meanGap).toBeCloseTo(5 / 20, 10);
  });

  test('a small gap within tolerance passes; so does a rank within topK', () => {
    const positions = ok(10);
    positions[4] = { gap: 0.5, rank: 1 };
    expect(judgeClaim(shape(10), positions, 10, t)).toMatchObject({ pass: true, failures: [] });
    positions[4] = { gap: 0.6, rank: 1 };
    expect(judgeClaim(shape(10), positions, 10, t).score.failing).toBe(1);
    expect(judgeClaim(shape(10), positions, 10, { ...t, topK: 2 }).score.failing).toBe(0);
  });

  test('share, run and outlier thresholds each fail a claim on their own', () => {
    const share = ok(10);
    share[1] = share[5] = { gap: 1, rank: 3 };
    expect(judgeClaim(shape(10), share, 10, t).failures).toEqual(['FAIL_SHARE']);
    const run = ok(40);
    run[10] = run[11] = run[12] = { gap: 1, rank: 3 };
    expect(judgeClaim(shape(40), run, 40, t).failures).toEqual(['FAIL_RUN']);
    const outlier = ok(40);
    outlier[20] = { gap: 2.5, rank: 900 };
    expect(judgeClaim(shape(40), outlier, 40, t).failures).toEqual(['OUTLIER_TOKEN']);
    outlier[20] = { gap: 1.9, rank: 900 };
    expect(judgeClaim(shape(40), outlier, 40, t).pass).toBe(true);
  });

  test('shape: text mismatch, truncation, overlong claims and tokens after end-of-sequence fail', () => {
    expect(judgeClaim(shape(8, { textMatches: false }), ok(8), 8, t).failures).toEqual(['TEXT_MISMATCH']);
    expect(judgeClaim(shape(8), ok(8), 16, t).failures).toEqual(['TRUNCATED']);
    expect(judgeClaim(shape(8, { endsWithEos: true }), ok(8), 16, t).pass).toBe(true);
    expect(judgeClaim(shape(8), ok(8), 4, t).failures).toEqual(['TOO_LONG']);
    expect(judgeClaim(shape(8, { eosBeforeEnd: true }), ok(8), 8, t).failures).toEqual(['EXTENDED_PAST_EOS']);
    expect(judgeClaim(shape(0), [], 8, t).failures).toContain('EMPTY_CLAIM');
    expect(judgeClaim(shape(9), ok(8), 9, t).failures).toContain('EMPTY_CLAIM');
  });

  test('thresholds are validated', () => {
    expect(() => validateThresholds(DEFAULT_TOLERANT_THRESHOLDS)).not.toThrow();
    expect(() => validateThresholds({ ...t, topK: 0 })).toThrow(RangeError);
    expect(() => validateThresholds({ ...t, maxFailShare: 1.5 })).toThrow(RangeError);
    expect(() => validateThresholds({ ...t, maxGap: 0.1 })).toThrow(RangeError);
    expect(() => validateThresholds({ ...t, tolerance: -1 })).toThrow(RangeError);
  });
});
