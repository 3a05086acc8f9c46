/**
 * Runs in flight survive workflow changes: every history in test/fixtures/histories/ replays without
 * non-determinism on today's workflow code, with the SDK's replayer. The fixtures are one run of every branch of
 * the inference workflow and of the registration and health workflows (recorded by
 * test/fixtures/record-histories.ts with fake activities), plus two runs recorded with the code before tolerant
 * sampling (commit 8e99490). Their payloads are encrypted with the fixtures' throwaway codec key.
 *
 * Controls: the same histories replayed on the inference workflow with one extra step fail when the step is added
 * without patched() and pass when it is behind patched(): the suite catches exactly what would break running code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker, type ReplayResult } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../src/coordinator/coordinator.js';
import { ANCHOR_AND_SETTLE, FEWER_ACTIVATIONS, FEWER_HISTORY_EVENTS } from '../../workflows/inference-workflow.js';
import { coordinatorDataConverter } from '../../src/codec/data-converter.js';
import { projectRoot } from '../../src/shared/paths.js';
import { fixtureCodecKey, HISTORIES_DIR } from '../fixtures/fake-pipeline-server.js';
import { BRANCHES } from '../fixtures/branch-scenarios.js';

const fixtures = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
const dataConverter = coordinatorDataConverter(fixtureCodecKey());

function history(name: string): temporal.api.history.v1.History {
  // Written with JSON.stringify(await handle.fetchHistory()): protobufjs's object form (camelCase, enums by name).
  return temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(HISTORIES_DIR, `${name}.json`), 'utf8')) as object);
}

/** Events in a fixture's history. */
const eventCount = (name: string): number => (history(name).events ?? []).length;
/** Local activities a fixture's run completed: a local activity's marker names it in its data (JSON, outside the payload codec). */
const localActivities = (name: string): number => (history(name).events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;

async function replayAll(workflowsPath: string, names: string[]): Promise<Map<string, ReplayResult['error']>> {
  const results = new Map<string, ReplayResult['error']>();
  const histories = names.map((name) => ({ workflowId: name, history: history(name) }));
  for await (const result of Worker.runReplayHistories({ workflowsPath, dataConverter }, histories)) results.set(result.workflowId, result.error);
  return results;
}

const BRANCH_FIXTURES = [
  'inference-happy', 'inference-exact-agree', 'inference-tolerant-agree', 'inference-exact-dispute-upheld', 'inference-tolerant-dispute-upheld',
  'inference-exact-majority-overruled', 'inference-tolerant-majority-overruled', 'inference-exact-no-majority', 'inference-tolerant-no-majority',
  'inference-exact-no-third-node', 'inference-tolerant-no-third-node', 'inference-fail-insufficient-credits', 'inference-fail-no-capable-node',
  'inference-fail-all-nodes-failed', 'inference-fail-anchor', 'inference-anchor-refused', 'inference-anchor-waits-for-chain',
  'inference-anchor-wait-gives-up', 'inference-rematch-after-false-refusal', 'node-health-continue-as-new', 'node-registration',
  // Node health on a real stack (real operator, through the operator endpoint): before signed probes (unsigned
  // probe(), no patch marker) and with the signed-health-probe patch (a challenge per probe, signature checked).
  'pre-signed-health', 'signed-health',
];

test('the fixtures cover every branch the issue names, each a real history', () => {
  expect(fixtures).toEqual(expect.arrayContaining(BRANCH_FIXTURES));
  for (const name of fixtures) expect((history(name).events ?? []).length).toBeGreaterThanOrEqual(8);
  const ended = history('node-health-continue-as-new').events ?? [];
  expect(ended[ended.length - 1]?.eventType).toBe(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  const markers = (name: string) => (history(name).events ?? []).filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_MARKER_RECORDED).length;
  expect([markers('pre-signed-health'), markers('signed-health')]).toEqual([0, 1]);
});

test('every branch is recorded again with fewer history events (FEWER_HISTORY_EVENTS), its runs smaller for it', () => {
  // The branches the recorder runs (test/fixtures/branch-scenarios.ts) and their fixtures from before the patch.
  const branches = Object.keys(BRANCHES).map((branch) => `inference-${branch}`).filter((name) => fixtures.includes(name));
  expect(branches.length).toBeGreaterThanOrEqual(20);
  const patchMarker = (name: string) => (history(name).events ?? []).some((e) => Buffer.from(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString().includes(FEWER_HISTORY_EVENTS));
  for (const name of branches) {
    expect([name, fixtures.includes(`fewer-events-${name}`)]).toEqual([name, true]);
    expect([name, patchMarker(`fewer-events-${name}`), patchMarker(name)]).toEqual([name, true, false]);
  }
  expect(eventCount('fewer-events-inference-happy')).toBeLessThan(eventCount('inference-happy'));
});

test('every branch is recorded again with the first match in 02\'s local activity (FEWER_ACTIVATIONS)', () => {
  const branches = Object.keys(BRANCHES).map((branch) => `inference-${branch}`).filter((name) => fixtures.includes(`fewer-events-${name}`));
  expect(branches.length).toBeGreaterThanOrEqual(20);
  const patchMarker = (name: string) => (history(name).events ?? []).some((e) => Buffer.from(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString().includes(FEWER_ACTIVATIONS));
  for (const name of branches) {
    expect([name, fixtures.includes(`fewer-activations-${name}`)]).toEqual([name, true]);
    expect([name, patchMarker(`fewer-activations-${name}`), patchMarker(`fewer-events-${name}`)]).toEqual([name, true, false]);
  }
  // One local activity (one activation) fewer in a run that completes on its first node.
  expect(localActivities('fewer-activations-inference-happy')).toBe(localActivities('fewer-events-inference-happy') - 1);
});

test('every branch is recorded again with 12 · 13 · 14 in one local activity and one patch marker (ANCHOR_AND_SETTLE)', () => {
  const branches = Object.keys(BRANCHES).map((branch) => `inference-${branch}`).filter((name) => fixtures.includes(`fewer-activations-${name}`));
  expect(branches.length).toBeGreaterThanOrEqual(20);
  const patchMarkers = (name: string) =>
    (history(name).events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString()).id as string);
  for (const name of branches) {
    expect([name, fixtures.includes(`anchor-and-settle-${name}`)]).toEqual([name, true]);
    // Every earlier patch's path, without their markers: one marker (and one TemporalChangeVersion upsert) per run.
    expect([name, patchMarkers(`anchor-and-settle-${name}`)]).toEqual([name, [ANCHOR_AND_SETTLE]]);
    expect([name, patchMarkers(`fewer-activations-${name}`)]).toEqual([name, expect.arrayContaining([FEWER_HISTORY_EVENTS, FEWER_ACTIVATIONS])]);
  }
  // A run that completes on its first node: one local activity fewer, and 20 history events where there were 26.
  expect(localActivities('anchor-and-settle-inference-happy')).toBe(localActivities('fewer-activations-inference-happy') - 1);
  expect([eventCount('fewer-activations-inference-happy'), eventCount('anchor-and-settle-inference-happy')]).toEqual([26, 20]);
});

test('every recorded history replays on the current workflow code', async () => {
  const results = await replayAll(WORKFLOWS_PATH, fixtures);
  expect([...results.keys()].sort()).toEqual(fixtures);
  const broken = [...results].filter(([, error]) => error).map(([name, error]) => `${name}: ${error?.message}`);
  expect(broken).toEqual([]);
}, 180_000);

test('a step added without patched() breaks the running inference workflows; behind patched() it does not', async () => {
  const inference = fixtures.filter((f) => /^(inference-|pre-tolerant-|fewer-events-inference-|fewer-activations-inference-|anchor-and-settle-inference-)/.test(f));
  const dir = path.join(projectRoot, 'test', 'fixtures', 'workflows');
  const unpatched = await replayAll(path.join(dir, 'unpatched-change.ts'), inference);
  const patched = await replayAll(path.join(dir, 'patched-change.ts'), inference);
  for (const name of inference) {
    expect([name, unpatched.get(name)?.name]).toEqual([name, 'DeterminismViolationError']);
    expect([name, patched.get(name)]).toEqual([name, undefined]);
  }
}, 240_000);
