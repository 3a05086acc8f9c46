import type { PositionScore } from './position-score.js';

/**
 * Step 11, tolerant mode: does a claimed answer pass the verifier's teacher-forced scores? Pure: node_j measures
 * (src/inference, one forward pass), the coordinator judges with its thresholds (this module). Calibration and
 * rationale: docs/sampling.md.
 */
export interface TolerantThresholds {
  /** A position passes when its gap (σ units, see position-score.ts) is at most this… */
  tolerance: number;
  /** …or when the claimed token ranks within the verifier's top k (1: only the argmax, i.e. no extra leeway). */
  topK: number;
  /** Largest share of failing positions a passing answer may have. */
  maxFailShare: number;
  /** Longest run of consecutive failing positions a passing answer may have. */
  maxFailRun: number;
  /** A failing position with a gap above this fails the answer on its own (a token no honest device picks). */
  maxGap: number;
}

/** What node_j reports about a claim, besides the per-position scores. */
export interface ClaimShape {
  /** Claimed token ids scored (the answer's length in tokens, end-of-sequence included). */
  positions: number;
  /** The claimed ids decode to exactly the claimed (PoE'd) text. */
  textMatches: boolean;
  /** The last claimed id is an end-of-sequence token. */
  endsWithEos: boolean;
  /** An end-of-sequence token appears before the last position (an answer extended past its end). */
  eosBeforeEnd: boolean;
}

export type ClaimFailure =
  | 'TEXT_MISMATCH'
  | 'EMPTY_CLAIM'
  | 'TOO_LONG'
  | 'TRUNCATED'
  | 'EXTENDED_PAST_EOS'
  | 'FAIL_SHARE'
  | 'FAIL_RUN'
  | 'OUTLIER_TOKEN';

/** The summary a verdict carries (and the chain record, rounded): enough to re-judge under other thresholds. */
export interface TolerantScore {
  positions: number;
  failing: number;
  failShare: number;
  longestFailRun: number;
  /** Largest gap among all positions (σ units; 0 when every claimed token was the verifier's argmax). */
  maxGap: number;
  meanGap: number;
  /** Index of the first failing position, or null. */
  firstFailure: number | null;
}

export interface TolerantVerdict {
  pass: boolean;
  failures: ClaimFailure[];
  score: TolerantScore;
}

function failsAt(position: PositionScore, thresholds: TolerantThresholds): boolean {
  return position.gap > thresholds.tolerance && position.rank >= thresholds.topK;
}

export function summarise(positions: readonly PositionScore[], thresholds: TolerantThresholds): TolerantScore {
  let failing = 0;
  let run = 0;
  let longest = 0;
  let maxGap = 0;
  let sumGap = 0;
  let firstFailure: number | null = null;
  positions.forEach((p, i) => {
    const gap = Number.isFinite(p.gap) ? p.gap : Number.MAX_VALUE;
    maxGap = Math.max(maxGap, gap);
    sumGap += gap;
    if (failsAt(p, thresholds)) {
      failing += 1;
      run += 1;
      longest = Math.max(longest, run);
      firstFailure ??= i;
    } else {
      run = 0;
    }
  });
  const n = positions.length;
  return {
    positions: n,
    failing,
    failShare: n === 0 ? 0 : failing / n,
    longestFailRun: longest,
    maxGap,
    meanGap: n === 0 ? 0 : sumGap / n,
    firstFailure,
  };
}

/**
 * Judges a claim. `maxNewTokens` is the request's bound: an answer shorter than that must end with an
 * end-of-sequence token (otherwise it was cut short), and none may be longer.
 */
export function judgeClaim(
  shape: ClaimShape,
  positions: readonly PositionScore[],
  maxNewTokens: number,
  thresholds: TolerantThresholds,
): TolerantVerdict {
  const score = summarise(positions, thresholds);
  const failures: ClaimFailure[] = [];
  if (!shape.textMatches) failures.push('TEXT_MISMATCH');
  if (shape.positions === 0 || positions.length !== shape.positions) failures.push('EMPTY_CLAIM');
  if (shape.positions > maxNewTokens) failures.push('TOO_LONG');
  else if (shape.positions < maxNewTokens && !shape.endsWithEos) failures.push('TRUNCATED');
  if (shape.eosBeforeEnd) failures.push('EXTENDED_PAST_EOS');
  if (score.failShare > thresholds.maxFailShare) failures.push('FAIL_SHARE');
  if (score.longestFailRun > thresholds.maxFailRun) failures.push('FAIL_RUN');
  if (positions.some((p) => failsAt(p, thresholds) && p.gap > thresholds.maxGap)) failures.push('OUTLIER_TOKEN');
  return { pass: failures.length === 0, failures, score };
}

export function validateThresholds(t: TolerantThresholds): void {
  const bad = (what: string): never => {
    throw new RangeError(`tolerant thresholds: ${what}`);
  };
  if (!(t.tolerance >= 0 && Number.isFinite(t.tolerance))) bad('tolerance must be a finite number >= 0');
  if (!Number.isInteger(t.topK) || t.topK < 1) bad('topK must be an integer >= 1');
  if (!(t.maxFailShare >= 0 && t.maxFailShare <= 1)) bad('maxFailShare must be in [0, 1]');
  if (!Number.isInteger(t.maxFailRun) || t.maxFailRun < 0) bad('maxFailRun must be an integer >= 0');
  if (!(t.maxGap >= t.tolerance && Number.isFinite(t.maxGap))) bad('maxGap must be finite and >= tolerance');
}

/**
 * Defaults, calibrated on the local test model (bench/calibrate-sampling.ts, docs/sampling.md): honest devices
 * whose logits differ by up to 0.03 σ (greedy texts differ in 9 of 10 pairs) stay below 0.2 σ at every position;
 * a claimed token that is not the verifier's near-best is ~4 σ away. On answers under 50 tokens one failing
 * position fails the share; longer answers may carry one or two small ones (rounding outliers), never a large one.
 */
export const DEFAULT_TOLERANT_THRESHOLDS: TolerantThresholds = {
  tolerance: 0.25,
  topK: 1,
  maxFailShare: 0.02,
  maxFailRun: 2,
  maxGap: 1,
};
