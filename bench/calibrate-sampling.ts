/**
 * Calibration of step 11's tolerant thresholds on the local model (docs/sampling.md):
 *   npx tsx bench/calibrate-sampling.ts [--pairs 200] [--tokens 32] [--sizes 0,0.001,0.003,0.01,0.03] [--out file.json]
 * Runs honest pairs and dishonest claims once, keeps every per-position score, then prints how each candidate
 * threshold set would judge them (false positives per honest size, detection per strategy).
 */
import { writeFileSync } from 'node:fs';
import './quiet-logs.js';
import type { PositionScore } from '../src/sampling/position-score.js';
import { DEFAULT_TOLERANT_THRESHOLDS, summarise, type TolerantThresholds } from '../src/sampling/tolerant-check.js';
import { benchSamplingQuality } from './sampling-quality.js';
import { percentile } from './stats.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const pairs = Number(arg('pairs', '200'));
const tokens = Number(arg('tokens', '32'));
const sizes = arg('sizes', '0,0.001,0.003,0.01,0.03').split(',').map(Number);
const out = arg('out', '');

const result = await benchSamplingQuality({
  thresholds: DEFAULT_TOLERANT_THRESHOLDS,
  perturbationSizes: sizes,
  honestPairsPerSize: pairs,
  dishonestPerStrategy: pairs,
  maxNewTokens: tokens,
  costLengths: [],
  costRepeats: 0,
  progress: (m) => console.log(m),
  keepRaw: true,
});
if (out) writeFileSync(out, JSON.stringify(result));

const byKind = new Map<string, PositionScore[][]>();
for (const claim of result.raw ?? []) byKind.set(claim.kind, [...(byKind.get(claim.kind) ?? []), claim.positions]);

console.log(`\nretokenisation: ${result.retokenisation.differ}/${result.retokenisation.answers} answers re-tokenise differently`);
console.log('\nper-position gaps (σ): kind, claims, p50, p99, max; share of positions that are the argmax');
for (const [kind, claims] of byKind) {
  const gaps = claims.flat().map((p) => p.gap);
  const argmax = claims.flat().filter((p) => p.rank === 0).length / Math.max(1, gaps.length);
  console.log(`${kind.padEnd(16)} ${String(claims.length).padStart(5)}  p50 ${percentile(gaps, 50).toFixed(3)}  p99 ${percentile(gaps, 99).toFixed(3)}  max ${Math.max(...gaps).toFixed(3)}  argmax ${(argmax * 100).toFixed(1)}%`);
}

const grid: TolerantThresholds[] = [];
for (const tolerance of [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]) {
  for (const maxGap of [tolerance, 0.5, 1, 2]) {
    if (maxGap < tolerance) continue;
    for (const maxFailShare of [0, 0.05, 0.1]) grid.push({ tolerance, topK: 1, maxFailShare, maxFailRun: 3, maxGap });
  }
}
console.log('\nthresholds → flagged per kind (score-only: shape checks left out)');
for (const t of grid) {
  const cells: string[] = [];
  for (const [kind, claims] of byKind) {
    const flagged = claims.filter((positions) => {
      const s = summarise(positions, t);
      const outlier = positions.some((p) => p.gap > t.tolerance && p.rank >= t.topK && p.gap > t.maxGap);
      return s.failShare > t.maxFailShare || s.longestFailRun > t.maxFailRun || outlier;
    }).length;
    cells.push(`${kind}=${flagged}`);
  }
  console.log(`tol ${t.tolerance} gap ${t.maxGap} share ${t.maxFailShare}: ${cells.join(' ')}`);
}
