import type { CoordinatorDeps } from '../../activities/deps.js';
import { createJudgeScore, createSealClaim } from '../../activities/sample-check.js';
import { createIdentity, openJsonEnvelope, publicIdentity, signScoreReport } from '../../src/crypto/index.js';
import { OPERATOR_WIRE, type ScoreReport } from '../../src/protocol/operator-wire.js';
import { DEFAULT_TOLERANT_THRESHOLDS } from '../../src/sampling/tolerant-check.js';
import { scoreReport } from '../fixtures/score-report.js';

const scorer = createIdentity();
const poe = 'ab'.repeat(32);
/** Only what judgeScore reads: the scorer's registered key (never cached here). */
const deps = {
  db: { node: { findUniqueOrThrow: async () => ({ signPublicKey: publicIdentity(scorer).signPublicKey }) } },
  policy: { nodeKeyCacheSize: 0 },
} as unknown as CoordinatorDeps;
const judge = createJudgeScore(deps);

const report = (changes: Partial<ScoreReport> = {}): ScoreReport => scoreReport({ nodeId: scorer.nodeId, claimPoe: poe, ...changes });
const input = (r: ScoreReport, signature = signScoreReport(r, scorer.sign.secretKey)) => ({
  requestId: 'req-1',
  nodeId: scorer.nodeId,
  claimedNodeId: 'node-i',
  claimPoe: `0x${poe}`,
  maxNewTokens: 8,
  thresholds: DEFAULT_TOLERANT_THRESHOLDS,
  result: { wire: OPERATOR_WIRE, report: r, signature },
});

describe('11 Sample · judge', () => {
  test('a signed report of argmax tokens passes; one far-off token fails it', async () => {
    expect(await judge(input(report()))).toMatchObject({ valid: true, pass: true, failures: [], score: { positions: 8, failing: 0 } });
    const gaps = [0, 0, 0, 4.2, 0, 0, 0, 0];
    expect(await judge(input(report({ gaps, ranks: [0, 0, 0, 900, 0, 0, 0, 0] })))).toMatchObject({ valid: true, pass: false, failures: ['FAIL_SHARE', 'OUTLIER_TOKEN'] });
  });

  test('a report signed by another key, for another claim, or malformed is not a score', async () => {
    const r = report();
    expect(await judge(input(r, signScoreReport(r, createIdentity().sign.secretKey)))).toEqual({ valid: false, reason: 'BAD_SCORE_SIGNATURE' });
    expect(await judge(input(report({ claimPoe: 'cd'.repeat(32) })))).toEqual({ valid: false, reason: 'WRONG_CLAIM' });
    expect(await judge(input(report({ requestId: 'req-2' })))).toEqual({ valid: false, reason: 'WRONG_CLAIM' });
    expect(await judge(input(report({ ranks: [0] })))).toEqual({ valid: false, reason: 'MALFORMED_SCORE' });
    expect(await judge(input(report({ gaps: [0, 0, 0, -0.5, 0, 0, 0, 0] })))).toEqual({ valid: false, reason: 'MALFORMED_SCORE' });
    expect(await judge(input(report({ gaps: [], ranks: [] })))).toEqual({ valid: false, reason: 'MALFORMED_SCORE' });
    expect(await judge(input(report({ gaps: ['0'] as unknown as number[], ranks: [0] })))).toEqual({ valid: false, reason: 'MALFORMED_SCORE' });
  });

  test('-1 marks an id outside the vocabulary: infinitely far', async () => {
    const outcome = await judge(input(report({ gaps: [0, 0, -1, 0, 0, 0, 0, 0], ranks: [0, 0, 32000, 0, 0, 0, 0, 0] })));
    expect(outcome).toMatchObject({ valid: true, pass: false });
  });
});

test('11 Sample · seal claim: only node_j opens the prompt and the claim, bound to the request', async () => {
  const nodeJ = createIdentity();
  const messages = [{ role: 'user' as const, content: 'secret prompt' }];
  const sealed = await createSealClaim({ identity: createIdentity() })({
    requestId: 'req-1',
    node: { nodeId: nodeJ.nodeId, boxPublicKey: publicIdentity(nodeJ).boxPublicKey, dtype: 'fp16', device: 'cpu' },
    claimedNodeId: 'node-i',
    model: 'm',
    maxNewTokens: 8,
    messages,
    claim: { text: 'an answer', tokenIds: [5, 6, 1] },
  });
  expect(JSON.stringify(sealed)).not.toContain('secret prompt');
  expect(sealed).toMatchObject({ wire: OPERATOR_WIRE, requestId: 'req-1', nodeId: nodeJ.nodeId, claimedNodeId: 'node-i' });
  expect(openJsonEnvelope(sealed.envelope, nodeJ.box.secretKey, nodeJ.box.publicKey, { expectRequestId: 'req-1' })).toEqual({ messages, claim: { text: 'an answer', tokenIds: [5, 6, 1] } });
  const other = createIdentity();
  expect(() => openJsonEnvelope(sealed.envelope, other.box.secretKey, other.box.publicKey, { expectRequestId: 'req-1' })).toThrow();
});
