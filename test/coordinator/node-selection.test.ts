import { rankCandidates, type NodeCandidate } from '../../src/coordinator/node-selection.js';

const node = (nodeId: string, dtype: string, extra: Partial<NodeCandidate> = {}): NodeCandidate => ({
  nodeId,
  models: ['m'],
  dtype,
  maxNewTokens: 256,
  concurrency: 1,
  uptime: 1,
  reputation: 1,
  inFlight: 0,
  ...extra,
});

describe('rankCandidates', () => {
  const candidates = [node('a', 'fp16'), node('b', 'q4'), node('c', 'fp16', { reputation: 0.5 }), node('d', 'fp16', { models: ['other'] })];
  const request = { requestId: 'r', model: 'm', maxNewTokens: 32, exclude: [], minUptime: 0.5 };

  test('without a dtype any weights variant of the model is a candidate', () => {
    expect(rankCandidates(request, candidates).map((c) => c.nodeId)).toEqual(['a', 'b', 'c']);
  });

  test('a sampled check asks for node_i’s dtype: other variants are left out, whatever their device', () => {
    expect(rankCandidates({ ...request, dtype: 'fp16', exclude: ['a'] }, candidates).map((c) => c.nodeId)).toEqual(['c']);
    expect(rankCandidates({ ...request, dtype: 'q4' }, candidates).map((c) => c.nodeId)).toEqual(['b']);
    expect(rankCandidates({ ...request, dtype: 'fp32' }, candidates)).toEqual([]);
  });
});
