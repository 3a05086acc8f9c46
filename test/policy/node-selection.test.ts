import { rankCandidates, type NodeCandidate, type SelectionRequest } from '../../src/policy/node-selection.js';

const request: SelectionRequest = { requestId: 'req-1', model: 'm', maxNewTokens: 32, exclude: [], minUptime: 0.5 };

function node(nodeId: string, overrides: Partial<NodeCandidate> = {}): NodeCandidate {
  return { nodeId, models: ['m'], dtype: 'fp16', maxNewTokens: 256, concurrency: 1, uptime: 1, reputation: 1, inFlight: 0, ...overrides };
}

const ids = (candidates: NodeCandidate[]): string[] => candidates.map((c) => c.nodeId);

test('nodes below the minimum uptime are never matched; one exactly at the minimum is', () => {
  const ranked = rankCandidates(request, [node('flaky', { uptime: 0.49 }), node('edge', { uptime: 0.5 }), node('dead', { uptime: 0 })]);
  expect(ids(ranked)).toEqual(['edge']);
  expect(rankCandidates({ ...request, minUptime: 0 }, [node('dead', { uptime: 0 })])).toHaveLength(1);
});

test('a node without health samples yet counts as up', () => {
  expect(ids(rankCandidates({ ...request, minUptime: 1 }, [node('new', { uptime: null })]))).toEqual(['new']);
});

test('capability filters: model, output limit, and nodes already tried', () => {
  const candidates = [node('other-model', { models: ['x'] }), node('short', { maxNewTokens: 16 }), node('tried'), node('ok')];
  expect(ids(rankCandidates({ ...request, exclude: ['tried'] }, candidates))).toEqual(['ok']);
});

test('order: free capacity first, then uptime, then reputation', () => {
  const ranked = rankCandidates(request, [
    node('busy', { inFlight: 1 }),
    node('low-reputation', { reputation: 0.25 }),
    node('lower-uptime', { uptime: 0.9 }),
    node('best'),
    node('busy-but-wide', { inFlight: 1, concurrency: 4 }),
  ]);
  expect(ids(ranked)).toEqual(['best', 'low-reputation', 'lower-uptime', 'busy-but-wide', 'busy']);
});

test('equal nodes are ordered by a per-request hash, so different requests spread over them', () => {
  const equal = ['a', 'b', 'c', 'd'].map((id) => node(id));
  const firsts = new Set(Array.from({ length: 40 }, (_, i) => rankCandidates({ ...request, requestId: `req-${i}` }, equal)[0]!.nodeId));
  expect(firsts.size).toBeGreaterThan(1);
  // Deterministic for one request (a retried match picks the same node).
  expect(ids(rankCandidates(request, equal))).toEqual(ids(rankCandidates(request, [...equal].reverse())));
});

test('a sampled check asks for node_i’s dtype: other weights variants are left out, whatever their device', () => {
  const candidates = [node('a'), node('b', { dtype: 'q4', reputation: 0.9 }), node('c', { reputation: 0.5 }), node('d', { models: ['other'] })];
  expect(ids(rankCandidates(request, candidates))).toEqual(['a', 'b', 'c']);
  expect(ids(rankCandidates({ ...request, dtype: 'fp16', exclude: ['a'] }, candidates))).toEqual(['c']);
  expect(ids(rankCandidates({ ...request, dtype: 'q4' }, candidates))).toEqual(['b']);
  expect(rankCandidates({ ...request, dtype: 'fp32' }, candidates)).toEqual([]);
});
