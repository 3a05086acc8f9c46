import { createIdentity, publicIdentity } from '../../src/crypto/identity.js';
import { signScoreReport, verifyScoreReport } from '../../src/crypto/score-report.js';
import { signPoe } from '../../src/crypto/poe.js';
import type { ScoreReport } from '../../src/protocol/operator-wire.js';
import { scoreReport } from '../fixtures/score-report.js';

const report: ScoreReport = scoreReport({ gaps: [0, 0.0123, 0], ranks: [0, 1, 0], inputTokens: 12, durationMs: 4 });

describe('score report signature', () => {
  test('verifies with the signer key only, and breaks on any changed field', () => {
    const node = createIdentity();
    const signature = signScoreReport(report, node.sign.secretKey);
    expect(verifyScoreReport(report, signature, publicIdentity(node).signPublicKey)).toBe(true);
    expect(verifyScoreReport({ ...report }, signature, node.sign.publicKey)).toBe(true); // key order does not matter
    expect(verifyScoreReport(report, signature, createIdentity().sign.publicKey)).toBe(false);
    expect(verifyScoreReport({ ...report, gaps: [0, 0.0124, 0] }, signature, node.sign.publicKey)).toBe(false);
    expect(verifyScoreReport({ ...report, claimPoe: 'cd'.repeat(32) }, signature, node.sign.publicKey)).toBe(false);
    expect(verifyScoreReport(report, 'not base64!', node.sign.publicKey)).toBe(false);
  });

  test('is domain-separated from a PoE signature', () => {
    const node = createIdentity();
    const poeSignature = signPoe(report.claimPoe, node.sign.secretKey);
    expect(verifyScoreReport(report, poeSignature, node.sign.publicKey)).toBe(false);
  });
});
