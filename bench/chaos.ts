/**
 * `npm run chaos [-- --quick] [--requests N] [--concurrency C] [--seed S]`: the local stack with 2 coordinator
 * processes and 4 operators (one dishonest: it forges its PoE signatures), p = 0.1, N requests at concurrency C
 * through the SDK and some through a `parallelix gateway` process (a share of the streaming clients hang up
 * mid-stream), while a seeded schedule SIGKILLs and restarts a coordinator, operators, the Temporal dev server (its
 * SQLite file persists), PostgreSQL (embedded, durable) and anvil (state persisted), and holds one chain outage
 * long enough to exhaust the anchor retries. Then it waits for every run to close and checks the invariants from
 * the database, the chain and Temporal (bench/chaos-invariants.ts), prints a table, writes
 * bench/results/chaos-<timestamp>.json and exits 1 on any violation (2 when the run itself could not finish).
 * A fault-free phase first (same stack, N/5 requests) gives the requests per second to compare with.
 */
import './quiet-logs.js';
import { Client, Connection } from '@temporalio/client';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getFreePort } from '../src/shared/ports.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/devstack/embedded-postgres.js';
import { startDevServer, type DevServer } from '../src/devstack/temporal-server.js';
import { createApiKey } from '../src/gateway/api-keys.js';
import { createParallelixClient, type ParallelixClient } from '../src/sdk/index.js';
import { projectRoot } from '../src/shared/paths.js';
import { spawnCli, type CliProcess } from '../test/helpers/cli-process.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../test/helpers/network.js';
import type { TestTemporal, TestTemporalServer } from '../test/helpers/temporal.js';
import { checkInvariants, type Outcome } from './chaos-invariants.js';
import { machineFacts } from './machine.js';
import { formatTable } from './table.js';
import { mulberry32 } from '../src/shared/prng.js';
import { codecKeyFile, coordinatorKeyDir } from '../src/codec/codec-key.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const REQUESTS = Number(flag('requests') ?? (quick ? 60 : 500));
const CONCURRENCY = Number(flag('concurrency') ?? (quick ? 8 : 32));
const SEED = Number(flag('seed') ?? 14);
const GATEWAY_SHARE = 0.15;
const DISCONNECT_SHARE = 0.4;
const DISHONEST = 'mallory';
const HONEST = ['alpha', 'beta', 'gamma'];
const ANCHOR_ATTEMPTS = 3;
const MAX_NEW_TOKENS = 12;

const started = Date.now();
const progress = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The fault schedule and the request mix from --seed. */
const prng = mulberry32;
/** Separate streams, so the fault schedule does not depend on how the requests interleave. */
const random = prng(SEED);
const faultRandom = prng(SEED ^ 0x5eed);

const killGroup = (pid: number): void => {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
};

// ---------------------------------------------------------------- the stack, with restartable services
const dir = mkdtempSync(path.join(os.tmpdir(), 'parallelix-chaos-'));
if (process.getuid?.() === 0) chmodSync(dir, 0o711);
const pgPort = await getFreePort();
const pgOptions = { dir: path.join(dir, 'pg'), port: pgPort, logFile: path.join(dir, 'pg', 'postgres.log'), durable: true };
mkdirSync(pgOptions.dir, { recursive: true });
if (process.getuid?.() === 0) chmodSync(pgOptions.dir, 0o711);
let pg: EmbeddedPostgres = await startEmbeddedPostgres(pgOptions);
process.env.PARALLELIX_TEST_PG_URL = pg.url();
const temporalPort = await getFreePort();
const temporalDb = path.join(dir, 'temporal.sqlite');
let dev: DevServer = await startDevServer({ grpcPort: temporalPort, uiPort: 0, dbFile: temporalDb });
const connection = await Connection.connect({ address: dev.address });
const temporal: TestTemporal<TestTemporalServer> = {
  server: { address: dev.address, namespace: dev.namespace, stop: async () => dev.stop() },
  serverPid: null,
  connection,
  client: new Client({ connection, namespace: dev.namespace }),
  async stop() {
    await connection.close();
    await dev.stop();
  },
};
progress(`PostgreSQL :${pgPort}, Temporal dev server ${dev.address} (SQLite ${temporalDb})`);

const network: TestNetwork = await startTestNetwork({
  temporal,
  persistChain: true,
  coordinatorProcesses: 2,
  policy: { sampleProbability: 0.1, anchorAttempts: ANCHOR_ATTEMPTS, dispatchHeartbeatSeconds: 5, dispatchScheduleToStartSeconds: 5 },
});
const operatorEntry = (name: string): string | undefined => (name === DISHONEST ? path.join(projectRoot, 'test', 'fixtures', 'faulty-operator.ts') : undefined);
const operatorEnv = (name: string): Record<string, string> => (name === DISHONEST ? { PARALLELIX_TEST_FAULT: 'forge-signature' } : {});
for (const name of [...HONEST, DISHONEST]) await network.startOperator(name, operatorEnv(name), operatorEntry(name));
const dishonestNodeId = network.operators.get(DISHONEST)!.nodeId;
progress(`stack up: 2 coordinators, 4 operators (${DISHONEST} = ${dishonestNodeId.slice(0, 14)}… forges signatures), p = 0.1`);

const gatewayPort = await getFreePort();
const gateway: CliProcess = spawnCli(['gateway', '--port', String(gatewayPort)], { ...network.cliEnv(), PARALLELIX_GATEWAY_RATE_LIMIT_RPM: '0', PARALLELIX_LOG_LEVEL: 'warn' });
await gateway.waitFor('gateway listening');
const sdk: ParallelixClient = await createParallelixClient({ address: dev.address, namespace: dev.namespace, codecKeyFile: codecKeyFile(coordinatorKeyDir(network.stateRoot)) });

const USERS = Array.from({ length: 8 }, (_, i) => `chaos-user-${i}`);
const TOPUP = 50_000_000;
for (const user of USERS) await network.fund(user, TOPUP);
const gatewayUser = 'chaos-gateway-user';
await network.fund(gatewayUser, TOPUP);
const { key: apiKey } = await createApiKey(network.db, gatewayUser, 'chaos');

// ---------------------------------------------------------------- requests
const PROMPTS = ['Tell me about the tides.', 'Describe a lighthouse at night.', 'What do sailors sing?', 'Name three winds of the sea.'];
const outcomes: Outcome[] = [];

async function viaSdk(i: number, phase: string): Promise<Outcome> {
  const user = USERS[i % USERS.length]!;
  const secret = `chaos ${phase} ${i}: ${PROMPTS[i % PROMPTS.length]}`;
  const request = { userId: user, model: TEST_MODEL, messages: [{ role: 'user' as const, content: secret }], maxNewTokens: MAX_NEW_TOKENS, idempotencyKey: `${phase}-${i}` };
  const t0 = Date.now();
  // A submit that fails (Temporal or the network down) is retried with the same key: it reaches the same run.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const handle = await sdk.submit(request);
      for (;;) {
        try {
          const result = await handle.result();
          return { via: 'sdk', phase, workflowId: handle.workflowId, secret, status: 'completed', requestId: result.requestId, text: result.text, ms: Date.now() - t0 };
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code && code !== 'TEMPORAL_UNAVAILABLE' && !/UNAVAILABLE|ECONNREFUSED|connection/i.test(String(error))) {
            return { via: 'sdk', phase, workflowId: handle.workflowId, secret, status: 'failed', errorType: code, ms: Date.now() - t0 };
          }
          await sleep(1_000);
        }
      }
    } catch (error) {
      if (attempt >= 60) return { via: 'sdk', phase, workflowId: null, secret, status: 'not-submitted', errorType: String((error as Error).message).slice(0, 80), ms: Date.now() - t0 };
      await sleep(1_000);
    }
  }
}

async function viaGateway(i: number, phase: string): Promise<Outcome> {
  const secret = `chaos gateway ${phase} ${i}: ${PROMPTS[i % PROMPTS.length]}`;
  const disconnect = random() < DISCONNECT_SHARE;
  const t0 = Date.now();
  const abort = new AbortController();
  try {
    const res = await fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: TEST_MODEL, messages: [{ role: 'user', content: secret }], max_tokens: MAX_NEW_TOKENS, stream: true }),
      signal: abort.signal,
    });
    if (!res.ok || !res.body) return { via: 'gateway', phase, workflowId: null, secret, status: 'failed', errorType: `HTTP_${res.status}`, ms: Date.now() - t0 };
    const reader = res.body.getReader();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
      if (disconnect) {
        abort.abort();
        return { via: 'gateway', phase, workflowId: null, secret, status: 'disconnected', ms: Date.now() - t0 };
      }
    }
    return { via: 'gateway', phase, workflowId: null, secret, status: /"finish_reason":"(stop|length)"/.test(text) ? 'completed' : 'failed', errorType: /"error"/.test(text) ? 'STREAM_ERROR' : undefined, ms: Date.now() - t0 };
  } catch (error) {
    return { via: 'gateway', phase, workflowId: null, secret, status: disconnect ? 'disconnected' : 'failed', errorType: disconnect ? undefined : 'HTTP_CONNECTION', ms: Date.now() - t0 };
  }
}

/** How far the current phase got: the fault schedule keeps going while its N requests are being sent. */
const sending = { sent: 0, count: 0 };

/**
 * `count` requests at `concurrency`; with `until`, the clients keep sending past `count` until it resolves, so that
 * every fault of the schedule hits a loaded system.
 */
async function runPhase(phase: string, count: number, concurrency: number, until?: { done: boolean }): Promise<{ wallMs: number; completed: number; sent: number }> {
  const t0 = Date.now();
  let next = 0;
  sending.count = count;
  let completed = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (next >= count && !(until && !until.done)) return;
      const i = next++;
      sending.sent = next;
      const outcome = random() < GATEWAY_SHARE ? await viaGateway(i, phase) : await viaSdk(i, phase);
      outcomes.push(outcome);
      if (outcome.status === 'completed') completed += 1;
      if (outcomes.length % 20 === 0) progress(`${outcomes.length} requests answered (${phase})`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { wallMs: Date.now() - t0, completed, sent: next };
}

// ---------------------------------------------------------------- faults
type FaultKind = 'coordinator' | 'operator' | 'temporal' | 'postgres' | 'anvil' | 'chain-outage';
const faults: Array<{ kind: FaultKind; at: number; target: string; downMs: number }> = [];

async function restartMissing(): Promise<void> {
  if (restarting) return;
  restarting = true;
  try {
    await restartMissingNow();
  } finally {
    restarting = false;
  }
}

async function restartMissingNow(): Promise<void> {
  for (const index of [1, 2]) {
    const alive = network.coordinatorProcesses.find((c) => c.index === index && c.cli.child.exitCode === null && c.cli.child.signalCode === null);
    if (!alive) {
      network.coordinatorProcesses.splice(0, network.coordinatorProcesses.length, ...network.coordinatorProcesses.filter((c) => c.index !== index));
      await network.startCoordinatorProcess(index).catch((error: Error) => progress(`coordinator ${index} restart failed: ${error.message.split('\n')[0]}`));
    }
  }
  for (const name of [...HONEST, DISHONEST]) {
    const op = network.operators.get(name);
    if (!op || op.process.child.exitCode !== null || op.process.child.signalCode !== null) {
      // A node suspended for its penalties cannot re-register (the coordinator refuses it): not a fault to repair.
      if (suspended.has(name)) continue;
      await network.startOperator(name, operatorEnv(name), operatorEntry(name)).catch((error: Error) => {
        if (/NODE_NOT_ADMITTED/.test(error.message)) {
          suspended.add(name);
          progress(`operator ${name} is suspended for its penalties: its re-registration is refused, so it stays down`);
        } else progress(`operator ${name} restart failed: ${lastLine(error.message)}`);
      });
    }
  }
}

const suspended = new Set<string>();

/** The last non-empty line of a process's failure (its stderr tail ends with the reason). */
function lastLine(text: string): string {
  return text.trim().split('\n').filter((line) => line.trim() !== '').at(-1) ?? text;
}

/** PostgreSQL again on its port and data folder; a crashed server's lock file may need a moment to be stale. */
async function restartPostgres(): Promise<EmbeddedPostgres> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startEmbeddedPostgres(pgOptions);
    } catch (error) {
      if (attempt >= 20) throw error;
      await sleep(1_000);
    }
  }
}

/** Keeps 2 coordinators and 4 operators running: restarts whatever a fault (or a lost database) ended. */
async function supervise(stop: { done: boolean }): Promise<void> {
  while (!stop.done) {
    await restartMissing().catch(() => undefined);
    await sleep(3_000);
  }
}

let restarting = false;

async function inject(kind: FaultKind): Promise<void> {
  const at = Date.now() - started;
  let target = '';
  const downMs = kind === 'chain-outage' ? 25_000 : 1_500 + Math.floor(faultRandom() * 2_000);
  if (kind === 'coordinator') {
    const victim = network.coordinatorProcesses[Math.floor(faultRandom() * network.coordinatorProcesses.length)];
    if (!victim) return;
    target = `coordinator ${victim.index}`;
    victim.cli.child.kill('SIGKILL');
    await victim.cli.exited;
    await sleep(downMs);
  } else if (kind === 'operator') {
    const name = [...HONEST, DISHONEST][Math.floor(faultRandom() * 4)]!;
    const op = network.operators.get(name);
    if (!op) return;
    target = `operator ${name}`;
    op.process.child.kill('SIGKILL');
    await op.process.exited;
    network.operators.delete(name);
    await sleep(downMs);
  } else if (kind === 'temporal') {
    target = 'Temporal dev server';
    killGroup(dev.process!.pid);
    await sleep(downMs);
    dev = await startDevServer({ grpcPort: temporalPort, uiPort: 0, dbFile: temporalDb });
  } else if (kind === 'postgres') {
    target = 'PostgreSQL';
    // The postmaster itself (its pid is the first line of postmaster.pid): its guard reaps it, as an init would.
    const postmaster = Number(readFileSync(path.join(pgOptions.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(postmaster, 'SIGKILL');
    await pg.process.exited;
    await sleep(downMs);
    pg = await restartPostgres();
  } else {
    target = kind === 'anvil' ? 'anvil' : 'anvil (outage past the anchor retries)';
    // Mined blocks survive the crash, as final blocks do on a real chain; if anvil no longer answers, what its
    // last dump holds is what survives.
    await network.killChain().catch((error: unknown) => {
      progress(`anvil crash without a verified dump (${(error as Error).message}): SIGKILL as is`);
      killGroup(network.anvil.pid);
    });
    await sleep(downMs);
    await network.restartChain();
  }
  faults.push({ kind, at, target, downMs });
  progress(`fault: SIGKILL ${target}, back after ${(downMs / 1000).toFixed(1)} s`);
  await restartMissing();
}

/** Every kind once, in a seeded order, then more coordinator / operator kills while the clients' N requests last. */
async function faultSchedule(spacingMs: number): Promise<void> {
  const kinds: FaultKind[] = ['coordinator', 'operator', 'temporal', 'postgres', 'anvil', 'chain-outage'];
  for (let i = kinds.length - 1; i > 0; i -= 1) {
    const j = Math.floor(faultRandom() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  await sleep(spacingMs / 2);
  for (let n = 0; n < kinds.length || sending.sent < sending.count; n += 1) {
    const kind = kinds[n] ?? (faultRandom() < 0.5 ? 'coordinator' : 'operator');
    await inject(kind).catch((error: Error) => progress(`fault ${kind} failed to inject: ${error.message.split('\n')[0]}`));
    // After the first round, kills stay rare enough for the system to make progress between them (a restart costs
    // several seconds of CPU on 2 cores).
    await sleep(Math.max(spacingMs, n + 1 >= kinds.length ? 20_000 : 0) * (0.5 + faultRandom()));
  }
}

// ---------------------------------------------------------------- run
let exitCode = 0;
try {
  await runPhase('warm-up', 4, 4);
  const calm = await runPhase('calm', Math.max(10, Math.round(REQUESTS / 5)), CONCURRENCY);
  progress(`fault-free phase: ${calm.completed} completed in ${(calm.wallMs / 1000).toFixed(1)} s`);
  // Faults spaced so that the N requests at the calm rate would see about eight of them.
  const calmRate = calm.completed / (calm.wallMs / 1000);
  const spacingMs = Math.min(30_000, Math.max(4_000, (REQUESTS / Math.max(calmRate, 0.1) / 8) * 1000));
  const supervision = { done: false };
  const supervisor = supervise(supervision);
  const scheduleDone = { done: false };
  const schedule = faultSchedule(spacingMs).finally(() => {
    scheduleDone.done = true;
  });
  const chaos = await runPhase('chaos', REQUESTS, CONCURRENCY, scheduleDone);
  await schedule;
  progress(`chaos phase: ${chaos.sent} requests, ${chaos.completed} completed in ${(chaos.wallMs / 1000).toFixed(1)} s; ${faults.length} faults; waiting for every run to close`);
  await restartMissing();

  const report = await checkInvariants({ network, temporal: temporal.client, outcomes, dishonestNodeId, topUpsPerUser: TOPUP, users: [...USERS, gatewayUser], closeTimeoutMs: quick ? 240_000 : 900_000, chainOutages: faults.filter((f) => f.kind === 'chain-outage').length, progress });
  supervision.done = true;
  await supervisor;
  const faultCounts = Object.fromEntries(['coordinator', 'operator', 'temporal', 'postgres', 'anvil', 'chain-outage'].map((k) => [k, faults.filter((f) => f.kind === k).length]));
  const rps = (phase: { wallMs: number; completed: number }): number => Math.round((phase.completed / (phase.wallMs / 1000)) * 100) / 100;
  const summary = {
    kind: 'chaos',
    when: new Date().toISOString(),
    options: { requests: REQUESTS, chaosRequestsSent: chaos.sent, calmRequests: calm.sent, faultSpacingMs: Math.round(spacingMs), concurrency: CONCURRENCY, seed: SEED, quick, sampleProbability: 0.1, anchorAttempts: ANCHOR_ATTEMPTS, gatewayShare: GATEWAY_SHARE, disconnectShare: DISCONNECT_SHARE },
    machine: machineFacts(),
    requestsPerSecond: { withoutFaults: rps(calm), underChaos: rps(chaos) },
    faults: faultCounts,
    faultLog: faults,
    ...report.summary,
    violations: report.violations,
  };
  console.log(
    formatTable(
      ['measure', 'value'],
      [
        ['requests (4 warm-up + calm + chaos)', String(outcomes.length)],
        ['via SDK / via gateway (disconnected mid-stream)', `${outcomes.filter((o) => o.via === 'sdk').length} / ${outcomes.filter((o) => o.via === 'gateway').length} (${outcomes.filter((o) => o.status === 'disconnected').length})`],
        ['runs (Temporal): completed / failed', `${report.summary.runs.completed} / ${report.summary.runs.failed}`],
        ['runs that waited for the chain (outage past the anchor retries)', String(report.summary.runs.waitedForChain)],
        ['failed by type', Object.entries(report.summary.runs.failedByType).map(([k, v]) => `${k} ${v}`).join(', ') || '–'],
        ['faults injected', Object.entries(faultCounts).map(([k, v]) => `${k} ${v}`).join(', ')],
        ['requests/s without faults / under chaos', `${summary.requestsPerSecond.withoutFaults} / ${summary.requestsPerSecond.underChaos}`],
        ['violations', report.violations.length === 0 ? '0' : String(report.violations.length)],
      ],
    ),
  );
  for (const [name, result] of Object.entries(report.summary.checks)) console.log(`  ${result.ok ? 'ok  ' : 'FAIL'} ${name}: ${result.detail}`);
  for (const v of report.violations.slice(0, 40)) console.log(`  violation: ${v}`);
  const out = path.join(projectRoot, 'bench', 'results', `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  progress(`wrote ${path.relative(projectRoot, out)}`);
  exitCode = report.violations.length === 0 ? 0 : 1;
} catch (error) {
  console.error(`chaos run could not finish: ${(error as Error).stack ?? String(error)}`);
  exitCode = 2;
} finally {
  gateway.child.kill('SIGKILL');
  await sdk.close().catch(() => undefined);
  await network.stop().catch((error: Error) => progress(`stop: ${error.message}`));
  await pg.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
