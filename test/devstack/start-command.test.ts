import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import pg from 'pg';
import { createPublicClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { Connection } from '@temporalio/client';
import { ANVIL_DEPLOYER_PRIVATE_KEY } from '../../src/chain/index.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { withDatabase } from '../../src/db/pg-url.js';
import { isolatedStackEnv } from '../../src/devstack/isolated-stack-env.js';
import { getFreeServicePort } from '../../src/shared/ports.js';
import type { StackEndpoints } from '../../src/config/stack-file.js';
import { isAlive, jsonOutput, processesUsingStateDir, runCli, spawnCli, type CliProcess } from '../helpers/cli-process.js';
import { TEST_MODEL } from '../helpers/network.js';

async function waitUntilNone(state: string, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = processesUsingStateDir(state);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = processesUsingStateDir(state);
  }
  return left;
}

/** Cleanup after a failure too: kill what still runs, wait until its services are gone, then delete the folders. */
async function killAndRemove(procs: (CliProcess | undefined)[], states: string[]): Promise<void> {
  for (const proc of procs) {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }
  for (const state of states) {
    await waitUntilNone(state, 20_000);
    rmSync(state, { recursive: true, force: true });
  }
}

const readEndpoints = (state: string): StackEndpoints => JSON.parse(readFileSync(path.join(state, 'stack.json'), 'utf8')) as StackEndpoints;

/**
 * What a second terminal has: the state folder and nothing else, so every connection comes from `stack.json`
 * (DATABASE_URL emptied in case the developer's shell has one).
 */
const otherTerminal = (state: string): Record<string, string> => ({ PARALLELIX_STATE_DIR: state, DATABASE_URL: '' });

test('`parallelix start` on embedded defaults: every command works beside it from other processes, and Ctrl-C stops every process it started', async () => {
  const state = mkdtempSync(path.join(tmpdir(), 'parallelix-start-'));
  const cli = spawnCli(['start'], await isolatedStackEnv(state));
  let gateway: CliProcess | undefined;
  try {
    await cli.waitFor('Press Ctrl-C to stop.', 180_000);
    const endpoints = readEndpoints(state);
    // The URL carries the embedded server's generated password.
    expect(statSync(path.join(state, 'stack.json')).mode & 0o777).toBe(0o600);

    const connection = await Connection.connect({ address: endpoints.temporal.address });
    await connection.workflowService.describeNamespace({ namespace: endpoints.temporal.namespace });
    await connection.close();
    expect((await fetch(endpoints.temporal.uiUrl ?? '')).status).toBe(200);

    expect(endpoints.database.embedded).toBe(true);
    expect(cli.output()).toMatch(/PostgreSQL 1\d\.\d+ ready \(new cluster created\)/);
    expect(cli.output()).toMatch(/applied \d+ migration\(s\)/);
    expect(cli.output().match(/\[demo\] request [0-9a-f-]{36} in \d+ ms/g)).toHaveLength(3);
    // Progress lines only: the coordinator's workflow bundle report goes to the logs folder.
    expect(cli.output()).not.toMatch(/webpack|modules by path|workflow-bundle/i);

    // Every process of the stack serves Prometheus metrics; the coordinator counted the three demo requests.
    const metricsUrls = /Metrics\s+(.+)/.exec(cli.output())![1]!.trim().split(/\s+/);
    expect(metricsUrls).toHaveLength(4); // the coordinator and three operators
    const scraped = await Promise.all(metricsUrls.map((url) => fetch(url).then((r) => r.text())));
    expect(scraped[0]).toMatch(/^parallelix_requests_total\{outcome="settled",failure_type="",component="coordinator"\} 3$/m);
    expect(scraped[0]).toMatch(/^temporal_workflow_task_schedule_to_start_latency_bucket\{/m);
    for (const text of scraped.slice(1)) expect(text).toMatch(/^parallelix_operator_inferences_in_flight\{component="operator",operator="node-\d"\} 0$/m);

    const chain = createPublicClient({ transport: http(endpoints.chain.rpcUrl) });
    const code = await chain.getCode({ address: endpoints.chain.registryAddress });
    expect(code && code.length > 2).toBe(true);

    const pids = Object.values(endpoints.pids);
    expect(Object.keys(endpoints.pids)).toEqual(expect.arrayContaining(['temporal', 'postgres', 'anvil']));
    for (const pid of pids) expect(isAlive(pid)).toBe(true);

    // The start process, the Temporal server, PostgreSQL, anvil and three operators (each service under its guard).
    expect(processesUsingStateDir(state).length).toBeGreaterThanOrEqual(7);

    // From other terminals, with no flags: each command a separate process on the running stack.
    const env = otherTerminal(state);
    const topup = await runCli(['credits', 'topup', 'demo-user', '5000', '--json'], env);
    expect(topup.code).toBe(ExitCode.ok);
    expect(jsonOutput(topup.output)).toMatchObject({ userId: 'demo-user', amount: '5000', applied: true });
    const balance = await runCli(['credits', 'balance', 'demo-user', '--json'], env);
    expect(balance.code).toBe(ExitCode.ok);
    expect(BigInt(jsonOutput<{ balance: string }>(balance.output).balance)).toBeGreaterThanOrEqual(5000n);

    const nodes = await runCli(['nodes', 'list', '--json'], env);
    expect(nodes.code).toBe(ExitCode.ok);
    const rows = jsonOutput<{ status: string; capabilities: { models: string[] } }[]>(nodes.output);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatchObject({ status: 'ACTIVE', capabilities: { models: [TEST_MODEL] } });

    // No --user, --model or --prompt: the demo user, the only model on offer, the prompt from stdin.
    const submitted = await runCli(['submit', '--max-new-tokens', '16', '--json'], env, { input: 'What is the capital of France?\n' });
    expect(submitted.code).toBe(ExitCode.ok);
    const result = jsonOutput<{ requestId: string; userId: string; model: string; result: string; verdict: string }>(submitted.output);
    expect(result).toMatchObject({ userId: 'demo-user', model: TEST_MODEL });
    expect(result.result.length).toBeGreaterThan(0);

    const audit = await runCli(['audit', result.requestId], env);
    expect(audit.code).toBe(ExitCode.ok);
    expect(audit.output).toMatch(/^RESULT\s+CHECK\s+DETAIL$/m);
    expect(audit.output).toMatch(/^ok\s+PoE recomputed from the result/m);
    expect(audit.output).toContain('consistent');

    const created = await runCli(['api-key', 'create', 'demo-user', 'start-command test'], env);
    expect(created.code).toBe(ExitCode.ok);
    const apiKey = /^pxk_\S+$/m.exec(created.output)?.[0];
    expect(apiKey).toBeDefined();

    const gatewayPort = await getFreeServicePort();
    gateway = spawnCli(['gateway'], { ...env, PARALLELIX_GATEWAY_PORT: String(gatewayPort) });
    await gateway.waitFor('gateway listening on', 60_000);
    const openai = new OpenAI({ baseURL: `http://127.0.0.1:${gatewayPort}/v1`, apiKey: apiKey!, maxRetries: 0 });
    const completion = await openai.chat.completions.create({ model: TEST_MODEL, messages: [{ role: 'user', content: 'Hello' }], max_completion_tokens: 8 });
    expect(completion.choices[0]?.message.role).toBe('assistant');
    expect((completion as unknown as { parallelix: { verdict: string } }).parallelix.verdict).toMatch(/^Accepted/);
    gateway.child.kill('SIGINT');
    expect(await gateway.exited).toBe(0);

    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(processesUsingStateDir(state)).toEqual([]);
    expect(cli.output()).toContain('stopped');
  } finally {
    await killAndRemove([gateway, cli], [state]);
  }
}, 420_000);

test('two stacks in different folders do not collide; a taken PostgreSQL port is refused; SIGKILL leaves no service behind', async () => {
  const [stateA, stateB, stateC] = [0, 1, 2].map(() => mkdtempSync(path.join(tmpdir(), 'parallelix-start-')));
  const a = spawnCli(['start', '--operators', '1', '--no-demo'], await isolatedStackEnv(stateA!));
  const b = spawnCli(['start', '--operators', '0', '--no-demo'], await isolatedStackEnv(stateB!));
  let c: CliProcess | undefined;
  try {
    await Promise.all([a.waitFor('Press Ctrl-C to stop.', 240_000), b.waitFor('Press Ctrl-C to stop.', 240_000)]);
    const [endA, endB] = [readEndpoints(stateA!), readEndpoints(stateB!)];
    expect(new URL(endA.database.url).port).not.toBe(new URL(endB.database.url).port);

    // Each folder's commands reach its own stack's database.
    const top = async (state: string, amount: string) => (await runCli(['credits', 'topup', 'same-user', amount, '--json'], otherTerminal(state))).code;
    expect(await top(stateA!, '111')).toBe(ExitCode.ok);
    expect(await top(stateB!, '222')).toBe(ExitCode.ok);
    const balanceOf = async (state: string) => jsonOutput<{ balance: string }>((await runCli(['credits', 'balance', 'same-user', '--json'], otherTerminal(state))).output).balance;
    expect(await balanceOf(stateA!)).toBe('111');
    expect(await balanceOf(stateB!)).toBe('222');

    // A third stack told to use A's PostgreSQL port refuses to start and stops what it had started.
    c = spawnCli(['start', '--operators', '0', '--no-demo'], { ...(await isolatedStackEnv(stateC!)), PARALLELIX_POSTGRES_PORT: new URL(endA.database.url).port });
    expect(await c.exited).toBe(ExitCode.provisioning);
    expect(c.output()).toMatch(/Port \d+ \(embedded PostgreSQL\) is already in use/);
    expect(await waitUntilNone(stateC!, 20_000)).toEqual([]);

    // SIGKILL gives A no chance to clean up: the guards stop its services, PostgreSQL included; B is unaffected.
    expect(processesUsingStateDir(stateA!).length).toBeGreaterThanOrEqual(5);
    a.child.kill('SIGKILL');
    await a.exited;
    expect(await waitUntilNone(stateA!, 20_000)).toEqual([]);
    expect(await balanceOf(stateB!)).toBe('222');

    b.child.kill('SIGINT');
    expect(await b.exited).toBe(0);
    expect(processesUsingStateDir(stateB!)).toEqual([]);
  } finally {
    await killAndRemove([a, b, c], [stateA!, stateB!, stateC!]);
  }
}, 420_000);

test('`parallelix start --temporal cluster --coordinators 2` on embedded defaults: the Temporal server keeps its databases on the embedded PostgreSQL, the second coordinator process anchors from its own account', async () => {
  const state = mkdtempSync(path.join(tmpdir(), 'parallelix-start-'));
  const cli = spawnCli(['start', '--temporal', 'cluster', '--coordinators', '2', '--operators', '1'], await isolatedStackEnv(state));
  try {
    await cli.waitFor('Press Ctrl-C to stop.', 300_000);
    const endpoints = readEndpoints(state);
    expect(endpoints.temporal).toMatchObject({ kind: 'cluster', uiUrl: null });
    expect(endpoints.database.embedded).toBe(true);
    expect(cli.output()).toMatch(/Temporal cluster ready: 127\.0\.0\.1:\d+/);
    expect(cli.output().match(/\[demo\] request [0-9a-f-]{36} in \d+ ms/g)).toHaveLength(3);

    // The server's history and visibility are databases of the stack's own embedded server: the demo runs are there.
    const visibility = new pg.Client({ connectionString: withDatabase(endpoints.database.url, 'parallelix_temporal_visibility') });
    await visibility.connect();
    try {
      const { rows } = await visibility.query<{ n: string }>(
        "SELECT count(*) AS n FROM executions_visibility WHERE workflow_type_name = 'inferenceWorkflow' AND status = 2",
      );
      expect(Number(rows[0]!.n)).toBe(3);
    } finally {
      await visibility.end();
    }

    // A second `parallelix coordinator` process, connected through stack.json to the same embedded database, claimed
    // an anchoring account other than the first process's.
    const second = /coordinator-2: process \d+, anchoring from (0x[0-9a-fA-F]{40})/.exec(cli.output());
    expect(second).not.toBeNull();
    expect(second![1]).not.toBe(privateKeyToAccount(ANVIL_DEPLOYER_PRIVATE_KEY).address);
    expect(/Metrics\s+(.+)/.exec(cli.output())![1]!.trim().split(/\s+/)).toHaveLength(3); // two coordinators, one operator

    // From another terminal: a request through the cluster, and its audit.
    const env = otherTerminal(state);
    const submitted = await runCli(['submit', '--max-new-tokens', '8', '--json'], env, { input: 'Hello\n' });
    expect(submitted.code).toBe(ExitCode.ok);
    const audit = await runCli(['audit', jsonOutput<{ requestId: string }>(submitted.output).requestId], env);
    expect(audit.code).toBe(ExitCode.ok);
    expect(audit.output).toContain('consistent');

    const pids = Object.values(endpoints.pids);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(processesUsingStateDir(state)).toEqual([]);
  } finally {
    await killAndRemove([cli], [state]);
  }
}, 480_000);
