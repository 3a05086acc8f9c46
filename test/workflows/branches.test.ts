/**
 * Every branch of the inference workflow, and the registration and health workflows, with fake activities on a
 * private dev server: the real workflow bundle, no database, chain or model (test/fixtures/fake-pipeline.ts).
 * Each branch asserts its outcome (verdict and delivering node, or the failure type), whether the hold was released,
 * which nodes were penalised and which scorers were paid: the branch logic in seconds.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { EncryptionCodec } from '../../src/codec/encryption-codec.js';
import { ANCHOR_WAITING_STEP } from '../../src/protocol/inference.js';
import { BRANCHES, observeBranch } from '../fixtures/branch-scenarios.js';
import { bundleWorkflows, FAKE_HEALTH } from '../fixtures/fake-pipeline.js';
import { startFakePipelineServer, type FakePipelineServer } from '../fixtures/fake-pipeline-server.js';
import { scanHistoryForPlaintext } from '../helpers/history.js';
import '../helpers/temporal.js';

let server: FakePipelineServer;
const PROMPT = 'a secret prompt about the fake capital';

beforeAll(async () => {
  server = await startFakePipelineServer({ bundle: await bundleWorkflows(), health: FAKE_HEALTH, probesUntilUnregistered: 3, downNodes: ['node-fake-b'] });
  // All branches run at once: each test then waits for its own run.
  await Promise.all(Object.entries(BRANCHES).map(([name, branch]) => server.pipeline.start(`branch-${name}`, branch.scenario, PROMPT)));
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

test.each(Object.keys(BRANCHES))('branch %s', async (name) => {
  const branch = BRANCHES[name]!;
  expect(await observeBranch(server.pipeline, `branch-${name}`, branch.expect)).toEqual(branch.expect);
  const calls = server.pipeline.calls(`branch-${name}`);
  const steps = calls.map((c) => c.step);
  if (branch.expect.verdict) {
    // Completed: anchored once, before the one settlement, nothing released.
    expect(steps.filter((s) => s === 'anchor')).toHaveLength(1);
    expect(steps.filter((s) => s === 'settle')).toHaveLength(1);
    expect(steps.indexOf('anchor')).toBeLessThan(steps.indexOf('settle'));
    expect(calls.find((c) => c.step === 'settle')?.nodeId).toBe(branch.expect.deliveredBy);
    expect(calls.find((c) => c.step === 'anchor')?.nodeId).toBe(branch.expect.deliveredBy);
  } else {
    // Failed: never settled; released exactly once when a hold was taken.
    expect(steps).not.toContain('settle');
    expect(steps.filter((s) => s === 'release')).toHaveLength(branch.expect.released ? 1 : 0);
  }
});

test('no branch puts the prompt or a result in clear into history', async () => {
  const codec = new EncryptionCodec(server.codecKey);
  for (const name of ['happy', 'exact-majority-overruled', 'tolerant-no-majority', 'anchor-wait-gives-up']) {
    const history = await server.pipeline.client.workflow.getHandle(`branch-${name}`).fetchHistory();
    const report = await scanHistoryForPlaintext(history, { secrets: [PROMPT], codec });
    expect([name, report.violations]).toEqual([name, []]);
  }
});

test('registration starts the health monitor, which continues as new and ends when the node is gone', async () => {
  const { pipeline } = server;
  await pipeline.registerNode('branch-register-a', 'node-fake-a');
  await expect(pipeline.client.workflow.getHandle('branch-register-a').result()).resolves.toMatchObject({ nodeId: 'node-fake-a' });
  const monitor = pipeline.client.workflow.getHandle('node-health-node-fake-a');
  await expect(monitor.result()).resolves.toBe('node-unregistered');
  // It ended in its second run: the first continued as new.
  const first = (await monitor.describe()).raw.workflowExecutionInfo?.firstRunId;
  expect(first).toBeTruthy();
  expect(first).not.toBe((await monitor.describe()).runId);
});

test('a node that stops answering probes ends its monitor; a refused announcement fails registration typed', async () => {
  const { pipeline } = server;
  await pipeline.registerNode('branch-register-b', 'node-fake-b');
  await pipeline.client.workflow.getHandle('branch-register-b').result();
  await expect(pipeline.client.workflow.getHandle('node-health-node-fake-b').result()).resolves.toBe('node-down-too-long');
  await pipeline.registerNode('branch-register-refused', 'node-not-announced');
  const refused = await pipeline.client.workflow.getHandle('branch-register-refused').result().catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(WorkflowFailedError);
  expect((refused as WorkflowFailedError).cause).toMatchObject({ type: 'ANNOUNCEMENT_INVALID' });
});

test('past its anchor retries a run waits for the chain, PipelineStep saying so, and completes when the chain answers', async () => {
  const history = await server.pipeline.client.workflow.getHandle('branch-anchor-waits-for-chain').fetchHistory();
  const steps = (history.events ?? []).flatMap((e) => {
    const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.PipelineStep;
    return field?.data ? [JSON.parse(Buffer.from(field.data).toString('utf8')) as string] : [];
  });
  expect(steps).toContain(ANCHOR_WAITING_STEP);
  // 13 is not upserted apart: its row update commits with 14 (FEWER_HISTORY_EVENTS).
  expect(steps.slice(steps.indexOf(ANCHOR_WAITING_STEP))).toEqual([ANCHOR_WAITING_STEP, '14 Settle']);
  // Two attempts with retries, then one waiting wake-up whose first try fails and second anchors.
  const calls = server.pipeline.calls('branch-anchor-waits-for-chain').map((c) => c.step);
  expect(calls.filter((s) => s === 'anchor-failed')).toHaveLength(3);
  expect(calls).not.toContain('release');
});
