import { randomUUID } from 'node:crypto';
import { computePoe } from '../../src/crypto/poe.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { jsonOutput, runCli } from '../helpers/cli-process.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';

let network: TestNetwork;
let env: Record<string, string>;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha', 'beta'] });
  env = { ...network.cliEnv(), PARALLELIX_LOG_LEVEL: 'warn' };
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

const cli = (args: string[], options: { input?: string } = {}) => runCli(args, env, options);
const json = jsonOutput;

test('credits topup and balance: idempotent per key, JSON and text', async () => {
  const user = `user-${randomUUID()}`;
  const first = await cli(['credits', 'topup', user, '5000', '--key', 'k1', '--json']);
  expect(first.code).toBe(ExitCode.ok);
  expect(json(first.output)).toMatchObject({ userId: user, amount: '5000', applied: true, balance: '5000', held: '0' });
  const again = await cli(['credits', 'topup', user, '5000', '--key', 'k1', '--json']);
  expect(json(again.output)).toMatchObject({ applied: false, balance: '5000' });
  const conflict = await cli(['credits', 'topup', user, '7000', '--key', 'k1']);
  expect(conflict.code).toBe(ExitCode.usage);
  expect((await cli(['credits', 'topup', user, '-3'])).code).toBe(ExitCode.usage);
  const text = await cli(['credits', 'topup', user, '250']);
  expect(text.code).toBe(ExitCode.ok);
  expect(text.output).toMatch(/^USER\s+BALANCE\s+HELD$/m);
  expect(text.output).toMatch(new RegExp(`^${user}\\s+5250\\s+0$`, 'm'));
  const balance = await cli(['credits', 'balance', user, '--json']);
  expect(json(balance.output)).toEqual({ userId: user, balance: '5250', held: '0' });
}, 120_000);

test('submit --json, nodes list --json, then audit: consistent, and a tampered database row is caught', async () => {
  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const submitted = await cli(['submit', '--user', user, '--model', TEST_MODEL, '--prompt', 'What is the capital of France? Answer in one sentence.', '--system', 'You are a helpful assistant.', '--max-new-tokens', '32', '--json']);
  expect(submitted.code).toBe(ExitCode.ok);
  const result = json<{ requestId: string; nodeId: string; result: string; poe: string; signature: string; anchorTx: string; sampled: boolean; verdict: string; creditsCharged: number }>(submitted.output);
  expect(result.result.length).toBeGreaterThan(0);
  expect(result.poe).toBe(computePoe({ requestId: result.requestId, result: result.result, nodeId: result.nodeId }));
  expect(result).toMatchObject({ sampled: false, verdict: 'Accepted' });
  expect(result.anchorTx).toMatch(/^0x[0-9a-f]{64}$/);
  expect(result.creditsCharged).toBeGreaterThan(0);
  expect([...network.operators.values()].map((o) => o.nodeId)).toContain(result.nodeId);

  const nodes = await cli(['nodes', 'list', '--json']);
  expect(nodes.code).toBe(ExitCode.ok);
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
  expect(audit.code).toBe(ExitCode.ok);
  const report = json<{ ok: boolean; checks: { name: string; outcome: string }[] }>(audit.output);
  expect(report.ok).toBe(true);
  // With the codec key in the state folder the PoE is recomputed from the result, not skipped.
  expect(report.checks.find((c) => c.name === 'PoE recomputed from the result')?.outcome).toBe('ok');
  expect(report.checks.find((c) => c.name === 'node signature over the PoE')?.outcome).toBe('ok');

  const forged = `0x${'ab'.repeat(32)}`;
  await network.db.$executeRaw`UPDATE "ExecutionRecord" SET "poe" = ${forged} WHERE "requestId" = ${result.requestId}`;
  const tampered = await cli(['audit', result.requestId]);
  expect(tampered.code).toBe(ExitCode.auditMismatch);
  expect(tampered.output).toMatch(/MISMATCH\s+PoE: chain = database/);
  expect(tampered.output).toContain('INCONSISTENT');

  expect((await cli(['audit', randomUUID()])).code).toBe(ExitCode.notFound);
}, 180_000);

test('submit: typed SDK errors become exit codes', async () => {
  const broke = await cli(['submit', '--user', `user-${randomUUID()}`, '--model', TEST_MODEL, '--prompt', 'hi', '--max-new-tokens', '8']);
  expect(broke.code).toBe(ExitCode.insufficientCredits);
  expect(broke.output).toContain('INSUFFICIENT_CREDITS');

  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const unknownModel = await cli(['submit', '--user', user, '--model', 'no-such-model', '--prompt', 'hi', '--max-new-tokens', '8']);
  expect(unknownModel.code).toBe(ExitCode.noCapableNode);
  expect(unknownModel.output).toContain('NO_CAPABLE_NODE');
}, 120_000);

test('submit defaults: the prompt from standard input, the only model on offer; --user needed without a local stack', async () => {
  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const prompt = 'Name three prime numbers.';
  const viaArgv = await cli(['submit', '--user', user, '--model', TEST_MODEL, '--prompt', prompt, '--max-new-tokens', '12', '--json']);
  expect(viaArgv.code).toBe(ExitCode.ok);
  // No --model (both nodes offer the one test model) and no --prompt: the prompt is read from stdin.
  const viaStdin = await cli(['submit', '--user', user, '--max-new-tokens', '12', '--json'], { input: `${prompt}\n` });
  expect(viaStdin.code).toBe(ExitCode.ok);
  const a = json<{ result: string; model: string; userId: string }>(viaArgv.output);
  const b = json<{ result: string; model: string; userId: string; requestId: string }>(viaStdin.output);
  expect(b).toMatchObject({ model: TEST_MODEL, userId: user });
  expect(b.result).toBe(a.result); // greedy decoding: the same prompt gives the same text

  const empty = await cli(['submit', '--user', user, '--model', TEST_MODEL], { input: '\n' });
  expect(empty.code).toBe(ExitCode.usage);
  expect(empty.output).toContain('prompt is empty');
  // This network is not a `parallelix start` stack: there is no demo user to default to.
  const noUser = await cli(['submit', '--model', TEST_MODEL, '--prompt', 'hi']);
  expect(noUser.code).toBe(ExitCode.usage);
  expect(noUser.output).toContain('--user is required');
}, 120_000);
