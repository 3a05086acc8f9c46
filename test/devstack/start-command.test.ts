import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPublicClient, http } from 'viem';
import { Connection } from '@temporalio/client';
import { isolatedStackEnv } from '../../src/devstack/isolated-stack-env.js';
import type { StackEndpoints } from '../../src/devstack/stack.js';
import { isAlive, processesUsingStateDir, spawnCli } from '../helpers/cli-process.js';

async function waitUntilNone(state: string, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = processesUsingStateDir(state);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = processesUsingStateDir(state);
  }
  return left;
}

test('`parallelix start` brings the stack up, and Ctrl-C stops every process it started', async () => {
  const state = mkdtempSync(path.join(tmpdir(), 'parallelix-start-'));
  const cli = spawnCli(['start'], await isolatedStackEnv(state));
  try {
    await cli.waitFor('Press Ctrl-C to stop.', 180_000);
    const endpoints = JSON.parse(readFileSync(path.join(state, 'stack.json'), 'utf8')) as StackEndpoints;

    const connection = await Connection.connect({ address: endpoints.temporal.address });
    await connection.workflowService.describeNamespace({ namespace: endpoints.temporal.namespace });
    await connection.close();
    expect((await fetch(endpoints.temporal.uiUrl ?? '')).status).toBe(200);

    // The embedded database serves only the start process: its migrations and the demo requests show it works.
    expect(endpoints.database.embedded).toBe(true);
    expect(cli.output()).toMatch(/applied \d+ migration\(s\)/);
    expect(cli.output().match(/\[demo\] request [0-9a-f-]{36} in \d+ ms/g)).toHaveLength(3);

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
    expect(pids.length).toBeGreaterThanOrEqual(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);

    // The start process, the Temporal server, anvil and three operators (each service under its guard shell).
    expect(processesUsingStateDir(state).length).toBeGreaterThanOrEqual(6);

    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(processesUsingStateDir(state)).toEqual([]);
    expect(cli.output()).toContain('stopped');
  } finally {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    rmSync(state, { recursive: true, force: true });
  }
});

test('a start process killed with SIGKILL leaves no service behind', async () => {
  const state = mkdtempSync(path.join(tmpdir(), 'parallelix-start-'));
  const cli = spawnCli(['start', '--operators', '1', '--no-demo'], await isolatedStackEnv(state));
  try {
    await cli.waitFor('Press Ctrl-C to stop.', 180_000);
    expect(processesUsingStateDir(state).length).toBeGreaterThanOrEqual(4);
    cli.child.kill('SIGKILL');
    await cli.exited;
    expect(await waitUntilNone(state, 20_000)).toEqual([]);
  } finally {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    rmSync(state, { recursive: true, force: true });
  }
});
