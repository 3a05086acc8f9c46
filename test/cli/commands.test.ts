import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computePoe } from '../../src/crypto/poe.js';
import { jsonOutput, runCli, spawnCli } from '../helpers/cli-process.js';
import { ANVIL_DEPLOYER_PRIVATE_KEY } from '../../src/chain/index.js';
import { getBalance } from '../../src/db/credits.js';
import { getFreePort } from '../../src/shared/ports.js';
import { createApiKey } from '../../src/gateway/api-keys.js';
import { waitFor } from '../helpers/observe.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { FRANCE_32_TEXT } from '../fixtures/reference-prompt.js';

/** The exit codes as the README documents them (not the source's constants: this checks the source against them). */
const EXIT = { ok: 0, failure: 1, usage: 2, provisioning: 3, auditMismatch: 4, insufficientCredits: 5, noCapableNode: 6, requestFailed: 7, notFound: 8, auditIncomplete: 9 };

let network: TestNetwork;
let env: Record<string, string>;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha', 'beta'] });
  env = { ...network.cliEnv(), PARALLELIX_LOG_LEVEL: 'warn' };
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

/** Runs `parallelix <args>` to completion (exit code, stdout+stderr), with `input` on its standard input if given. */
const cli = (args: string[], extraEnv: Record<string, string> = {}, input?: string) => runCli(args, { ...env, ...extraEnv }, input === undefined ? {} : { input });
const json = jsonOutput;

test('credits topup and balance: idempotent per key, JSON and text', async () => {
  const user = `user-${randomUUID()}`;
  const first = await cli(['credits', 'topup', user, '5000', '--key', 'k1', '--json']);
  expect(first.code).toBe(EXIT.ok);
  expect(json(first.output)).toMatchObject({ userId: user, amount: '5000', applied: true, balance: '5000', held: '0' });
  const again = await cli(['credits', 'topup', user, '5000', '--key', 'k1', '--json']);
  expect(json(again.output)).toMatchObject({ applied: false, balance: '5000' });
  const conflict = await cli(['credits', 'topup', user, '7000', '--key', 'k1']);
  expect(conflict.code).toBe(EXIT.usage);
  expect((await cli(['credits', 'topup', user, '-3'])).code).toBe(EXIT.usage);
  const text = await cli(['credits', 'topup', user, '250']);
  expect(text.code).toBe(EXIT.ok);
  expect(text.output).toMatch(/^USER\s+BALANCE\s+HELD$/m);
  expect(text.output).toMatch(new RegExp(`^${user}\\s+5250\\s+0$`, 'm'));
  const balance = await cli(['credits', 'balance', user, '--json']);
  expect(json(balance.output)).toEqual({ userId: user, balance: '5250', held: '0' });
}, 120_000);

test('submit --json, nodes list --json, then audit: consistent, and a tampered database row is caught', async () => {
  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const submitted = await cli(['submit', '--user', user, '--model', TEST_MODEL, '--prompt', 'What is the capital of France? Answer in one sentence.', '--system', 'You are a helpful assistant.', '--max-new-tokens', '32', '--json']);
  expect(submitted.code).toBe(EXIT.ok);
  const result = json<{ requestId: string; nodeId: string; result: string; poe: string; signature: string; anchorTx: string; sampled: boolean; verdict: string; creditsCharged: number }>(submitted.output);
  expect(result.result).toBe(FRANCE_32_TEXT);
  expect(result.poe).toBe(computePoe({ requestId: result.requestId, result: result.result, nodeId: result.nodeId }));
  expect(result).toMatchObject({ sampled: false, verdict: 'Accepted' });
  expect(result.anchorTx).toMatch(/^0x[0-9a-f]{64}$/);
  expect(result.creditsCharged).toBe(39 * 1 + 32 * 2); // 39 prompt tokens, 32 generated, default prices
  expect([...network.operators.values()].map((o) => o.nodeId)).toContain(result.nodeId);

  const nodes = await cli(['nodes', 'list', '--json']);
  expect(nodes.code).toBe(EXIT.ok);
  const rows = json<{ nodeId: string; status: string; rewardWeight: string; rewardedRequests: number; capabilities: { models: string[] }; penaltyCount: number }[]>(nodes.output);
  expect(rows.map((r) => r.nodeId).sort()).toEqual([...network.operators.values()].map((o) => o.nodeId).sort());
  const served = rows.find((r) => r.nodeId === result.nodeId)!;
  expect(served.status).toBe('ACTIVE');
  expect(served.capabilities.models).toContain(TEST_MODEL);
  expect(served.rewardedRequests).toBe(1);
  expect(BigInt(served.rewardWeight)).toBeGreaterThan(0n);
  expect(served.penaltyCount).toBe(0);
  expect((await cli(['nodes', 'list'])).output).toContain(result.nodeId);

  const audit = await cli(['audit', result.requestId, '--json']);
  expect(audit.code).toBe(EXIT.ok);
  const report = json<{ ok: boolean; checks: { name: string; outcome: string }[] }>(audit.output);
  expect(report.ok).toBe(true);
  // With the codec key in the state folder the PoE is recomputed from the result, not skipped.
  expect(report.checks.find((c) => c.name === 'PoE recomputed from the result')?.outcome).toBe('ok');
  expect(report.checks.find((c) => c.name === 'node signature over the PoE')?.outcome).toBe('ok');

  for (const name of ['ledger: hold captured once for the metered cost', 'ledger: the rest of the hold released once', 'ledger: delivering node rewarded once, no penalised node rewarded', 'ledger: settled after the anchor', 'anchored key and signature = node and database']) {
    expect(report.checks.find((c) => c.name === name)?.outcome).toBe('ok');
  }

  // Without the codec key the PoE cannot be recomputed from the result: not a clean bill (exit 9), not "consistent".
  const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'px-no-codec-'));
  try {
    const blind = spawnCli(['audit', result.requestId], { ...env, PARALLELIX_STATE_DIR: elsewhere });
    expect(await blind.exited).toBe(EXIT.auditIncomplete);
    expect(blind.output()).toMatch(/skipped\s+PoE recomputed from the result/);
    expect(blind.output()).toContain('INCOMPLETE');
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }

  // Settlement written before the anchor breaks invariant 4: the ledger check catches it.
  const record = await network.db.executionRecord.findUniqueOrThrow({ where: { requestId: result.requestId } });
  const early = new Date(record.anchoredAt!.getTime() - 1000);
  await network.db.creditLedgerEntry.updateMany({ where: { requestId: result.requestId, kind: 'CAPTURE' }, data: { createdAt: early } });
  const settledEarly = await cli(['audit', result.requestId]);
  expect(settledEarly.code).toBe(EXIT.auditMismatch);
  expect(settledEarly.output).toMatch(/MISMATCH\s+ledger: settled after the anchor/);
  await network.db.creditLedgerEntry.updateMany({ where: { requestId: result.requestId, kind: 'CAPTURE' }, data: { createdAt: record.anchoredAt! } });
  // A reward paid twice over (a second node rewarded as the executor) is caught too.
  const other = [...network.operators.values()].map((o) => o.nodeId).find((id) => id !== result.nodeId)!;
  await network.db.rewardLedgerEntry.create({ data: { requestId: result.requestId, nodeId: other, weight: 1n, uptimeFactor: 1 } });
  const doubleReward = await cli(['audit', result.requestId]);
  expect(doubleReward.output).toMatch(/MISMATCH\s+ledger: delivering node rewarded once/);
  await network.db.rewardLedgerEntry.deleteMany({ where: { requestId: result.requestId, nodeId: other } });
  expect((await cli(['audit', result.requestId])).code).toBe(EXIT.ok);

  const forged = `0x${'ab'.repeat(32)}`;
  await network.db.$executeRaw`UPDATE "ExecutionRecord" SET "poe" = ${forged} WHERE "requestId" = ${result.requestId}`;
  const tampered = await cli(['audit', result.requestId]);
  expect(tampered.code).toBe(EXIT.auditMismatch);
  expect(tampered.output).toMatch(/MISMATCH\s+PoE: chain = database/);
  expect(tampered.output).toContain('INCONSISTENT');

  expect((await cli(['audit', randomUUID()])).code).toBe(EXIT.notFound);
}, 180_000);

test('verify: a submit --json result checks out against the chain alone; any change to it is a mismatch', async () => {
  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const submitted = await cli(['submit', '--user', user, '--model', TEST_MODEL, '--prompt', 'Name three rivers.', '--max-new-tokens', '16', '--json']);
  expect(submitted.code).toBe(EXIT.ok);
  const held = json<Record<string, unknown> & { result: string; signature: string }>(submitted.output);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'px-verify-'));
  // Only the chain: no database, no Temporal, no codec key (an empty state folder).
  const chainOnly = { PARALLELIX_STATE_DIR: dir, PARALLELIX_LOG_LEVEL: 'warn', PARALLELIX_CHAIN_RPC_URL: env.PARALLELIX_CHAIN_RPC_URL!, PARALLELIX_CHAIN_ID: env.PARALLELIX_CHAIN_ID!, PARALLELIX_REGISTRY_ADDRESS: env.PARALLELIX_REGISTRY_ADDRESS!, DATABASE_URL: '', PARALLELIX_TEMPORAL_ADDRESS: '127.0.0.1:1' };
  const verify = async (value: unknown, extra: string[] = []) => {
    const file = path.join(dir, `${randomUUID()}.json`);
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    const proc = spawnCli(['verify', file, ...extra], chainOnly);
    return { code: await proc.exited, output: proc.output() };
  };
  try {
    const ok = await verify(held, ['--json']);
    expect(ok.code).toBe(EXIT.ok);
    const report = json<{ ok: boolean; checks: { name: string; ok: boolean }[]; record: { mode: string; verdict: string } }>(ok.output);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['record on chain', 'PoE recomputed from the text', 'signing key belongs to the node', 'node signature over the PoE', 'verdict', 'sample mode']));
    expect(report.record).toMatchObject({ mode: 'none', verdict: 'Accepted' });

    const edited = await verify({ ...held, result: `${held.result}!` });
    expect(edited.code).toBe(EXIT.auditMismatch);
    expect(edited.output).toMatch(/MISMATCH\s+PoE recomputed from the text/);
    expect((await verify({ ...held, verdict: 'AcceptedSampledAgree' })).code).toBe(EXIT.auditMismatch);
    expect((await verify({ ...held, mode: 'tolerant' })).code).toBe(EXIT.auditMismatch);
    const otherNode = [...network.operators.values()].map((o) => o.nodeId).find((id) => id !== held.nodeId)!;
    const wrongNode = await verify({ ...held, nodeId: otherNode });
    expect(wrongNode.output).toMatch(/MISMATCH\s+node:/);
    expect(wrongNode.code).toBe(EXIT.auditMismatch);
    const flipped = Buffer.from(held.signature, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect((await verify({ ...held, signature: flipped.toString('base64') })).output).toMatch(/MISMATCH\s+node signature over the PoE/);
    expect((await verify({ ...held, requestId: randomUUID() })).output).toMatch(/MISMATCH\s+record on chain/);
    expect((await verify('not json')).code).toBe(EXIT.usage);
    expect((await verify({ requestId: 'r' })).code).toBe(EXIT.usage);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

test('submit: typed SDK errors become exit codes', async () => {
  const broke = await cli(['submit', '--user', `user-${randomUUID()}`, '--model', TEST_MODEL, '--prompt', 'hi', '--max-new-tokens', '8']);
  expect(broke.code).toBe(EXIT.insufficientCredits);
  expect(broke.output).toContain('INSUFFICIENT_CREDITS');

  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const unknownModel = await cli(['submit', '--user', user, '--model', 'no-such-model', '--prompt', 'hi', '--max-new-tokens', '8']);
  expect(unknownModel.code).toBe(EXIT.noCapableNode);
  expect(unknownModel.output).toContain('NO_CAPABLE_NODE');
}, 120_000);

test('exit 2 for a bad environment, naming the variable; exit 1 when a configured service is unreachable', async () => {
  const badAddress = await cli(['submit', '--user', 'u', '--model', TEST_MODEL, '--prompt', 'hi'], { PARALLELIX_TEMPORAL_ADDRESS: 'no port here' });
  expect(badAddress.code).toBe(EXIT.usage);
  expect(badAddress.output).toContain('PARALLELIX_TEMPORAL_ADDRESS');
  const badPolicy = await cli(['coordinator'], { PARALLELIX_SAMPLE_PROBABILITY: '7', PARALLELIX_CHAIN_PRIVATE_KEY: ANVIL_DEPLOYER_PRIVATE_KEY });
  expect(badPolicy.code).toBe(EXIT.usage);
  expect(badPolicy.output).toContain('PARALLELIX_SAMPLE_PROBABILITY');
  const closed = await getFreePort();
  const noDatabase = await cli(['credits', 'balance', 'someone'], { DATABASE_URL: `postgresql://postgres@127.0.0.1:${closed}/nothing` });
  expect(noDatabase.code).toBe(EXIT.failure);
}, 120_000);

test('exit 3 when a component cannot be provisioned: an operator whose model cannot be loaded', async () => {
  const result = await cli(['operator', '--name', 'no-model', '--model', 'no-such-model'], { PARALLELIX_DEVICE: 'cpu' });
  expect(result.code).toBe(EXIT.provisioning);
  expect(result.output).toContain('MODEL_LOAD_FAILED');
}, 120_000);

test('exit 7 for a request cancelled after admission; its hold is released and nothing is charged', async () => {
  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  // Nodes frozen: the request is admitted and dispatched but cannot finish before it is cancelled.
  const nodes = [...network.operators.values()].map((op) => op.process.child);
  for (const node of nodes) node.kill('SIGSTOP');
  try {
    const submit = spawnCli(['submit', '--user', user, '--model', TEST_MODEL, '--prompt', 'Tell me a story.', '--max-new-tokens', '32'], env);
    const row = await waitFor('the request dispatched', async () =>
      (await network.db.inferenceRequest.findFirst({ where: { user: { externalId: user }, status: 'DISPATCHED' } })) ?? undefined,
    );
    await network.client.workflow.getHandle(row.workflowId).cancel();
    expect(await submit.exited).toBe(EXIT.requestFailed);
    expect(submit.output()).toContain('RequestCancelledError');
  } finally {
    for (const node of nodes) node.kill('SIGCONT');
  }
  expect(await getBalance(network.db, user)).toEqual({ balance: 100_000n, held: 0n });
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: user }, kind: 'CAPTURE' } })).toBe(0);
  const row = await network.db.inferenceRequest.findFirstOrThrow({ where: { user: { externalId: user } } });
  expect(row.status).toBe('FAILED');
}, 120_000);

test('exit 130 for a second Ctrl-C while a clean shutdown still waits (the gateway holding an open response)', async () => {
  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const { key } = await createApiKey(network.db, user, 'exit-130');
  const port = await getFreePort();
  const gateway = spawnCli(['gateway', '--port', String(port)], env);
  // The chain frozen: the request cannot anchor, so its response stays open and the gateway's close() waits.
  const chain = -network.anvil.pid;
  let pending: Promise<unknown> | undefined;
  try {
    await gateway.waitFor('gateway listening');
    process.kill(chain, 'SIGSTOP');
    pending = fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: TEST_MODEL, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 8 }),
    }).catch((error: unknown) => error);
    await waitFor('the request admitted', async () =>
      (await network.db.inferenceRequest.count({ where: { user: { externalId: user } } })) > 0 ? true : undefined,
    );
    gateway.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 1_700)); // past the window that merges one Ctrl-C seen twice
    expect(gateway.child.exitCode).toBeNull(); // still waiting for the open response
    gateway.child.kill('SIGINT');
    expect(await gateway.exited).toBe(130);
    expect(gateway.output()).toContain('second interrupt');
  } finally {
    process.kill(chain, 'SIGCONT');
    gateway.child.kill('SIGKILL');
    await pending;
  }
}, 120_000);

test('submit defaults: the prompt from standard input, the only model on offer; --user needed without a local stack', async () => {
  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const prompt = 'Name three prime numbers.';
  const viaArgv = await cli(['submit', '--user', user, '--model', TEST_MODEL, '--prompt', prompt, '--max-new-tokens', '12', '--json']);
  expect(viaArgv.code).toBe(EXIT.ok);
  // No --model (both nodes offer the one test model) and no --prompt: the prompt is read from stdin.
  const viaStdin = await cli(['submit', '--user', user, '--max-new-tokens', '12', '--json'], {}, `${prompt}\n`);
  expect(viaStdin.code).toBe(EXIT.ok);
  const a = json<{ result: string; model: string; userId: string }>(viaArgv.output);
  const b = json<{ result: string; model: string; userId: string; requestId: string }>(viaStdin.output);
  expect(b).toMatchObject({ model: TEST_MODEL, userId: user });
  expect(b.result).toBe(a.result); // greedy decoding: the same prompt gives the same text

  const empty = await cli(['submit', '--user', user, '--model', TEST_MODEL], {}, '\n');
  expect(empty.code).toBe(EXIT.usage);
  expect(empty.output).toContain('prompt is empty');
  // This network is not a `parallelix start` stack: there is no demo user to default to.
  const noUser = await cli(['submit', '--model', TEST_MODEL, '--prompt', 'hi']);
  expect(noUser.code).toBe(EXIT.usage);
  expect(noUser.output).toContain('--user is required');
}, 120_000);
