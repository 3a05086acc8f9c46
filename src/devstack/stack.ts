import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_DEPLOYER_PRIVATE_KEY, createRegistryClient, ensureRegistry, loadChainConfig, localAnchorerPool, startAnvil } from '../chain/index.js';
import { loadStackConfig, type StackConfig } from '../config/stack-config.js';
import { startEmbeddedDatabase } from '../db/embedded.js';
import { applyMigrations, ensureDatabase } from '../db/migrate.js';
import { redactUrl } from '../db/pg-url.js';
import { stateDir } from '../shared/paths.js';
import type { ProgressReporter } from './temporal-cli.js';
import { startTemporalCluster } from './cluster/temporal-cluster.js';
import { startDevServer } from './temporal-server.js';

/** Where everything of a running stack is; written to `<state>/stack.json` for the CLI and tests. */
export interface StackEndpoints {
  temporal: { address: string; namespace: string; uiUrl: string | null; kind: 'dev-server' | 'cluster' | 'external' };
  database: { url: string; embedded: boolean; poolSize: number | null };
  chain: { rpcUrl: string; chainId: number; registryAddress: Address; local: boolean };
  /** Processes this stack started (pid per service); none remain after stop(). */
  pids: Record<string, number>;
}

export interface Stack {
  endpoints: StackEndpoints;
  /** Private key the coordinator anchors with (the anvil dev deployer locally). Never printed. */
  anchorerPrivateKey: Hex;
  /** Local chain: further dev keys, authorised on the registry, for further coordinator processes. */
  localAnchorerPool?: Hex[];
  stop(): Promise<void>;
}

export interface StartStackOptions {
  config?: StackConfig;
  report?: ProgressReporter;
  /** Override the Temporal dev server's codec endpoint (the Web UI decodes payloads through it). */
  codecEndpoint?: string;
}

async function migrate(url: string, report: ProgressReporter): Promise<void> {
  report('applying database migrations');
  const { applied } = await applyMigrations(url);
  report(applied.length > 0 ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database schema up to date');
}

/**
 * Every coordinator process anchors from an account of its own; on the local chain those are anvil's funded dev
 * accounts, authorised here once by the owner so no coordinator sends from the owner's account at run time.
 */
async function authoriseLocalAnchorers(chain: StackEndpoints['chain'], ownerKey: Hex): Promise<Hex[]> {
  const pool = localAnchorerPool();
  const owner = createRegistryClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: ownerKey, address: chain.registryAddress });
  for (const key of pool) {
    const account = privateKeyToAccount(key).address;
    if (!(await owner.isAnchorer(account))) await owner.addAnchorer(account);
  }
  return pool;
}

export function stackFile(): string {
  return path.join(stateDir(), 'stack.json');
}

/**
 * Brings up the stack the coordinator needs, each part on its embedded default unless configured:
 * the database (migrated), Temporal (dev server + Web UI, or the Temporal server on PostgreSQL), the chain (anvil +
 * registry contract).
 * On a failure part-way, what was started is stopped again.
 */
export async function startStack(options: StartStackOptions = {}): Promise<Stack> {
  const report = options.report ?? (() => undefined);
  const config = options.config ?? loadStackConfig();
  const chainConfig = loadChainConfig();
  const logsDir = path.join(stateDir(), 'logs');
  mkdirSync(logsDir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const pids: Record<string, number> = {};
  const stopAll = async (): Promise<void> => {
    while (stops.length > 0) await stops.pop()?.().catch(() => undefined);
    rmSync(stackFile(), { force: true });
  };
  try {
    let database: StackEndpoints['database'];
    if (config.database.mode === 'postgres') {
      report(`using PostgreSQL at ${redactUrl(config.database.url)}`);
      if (await ensureDatabase(config.database.url)) report('created the database');
      database = { url: config.database.url, embedded: false, poolSize: null };
      await migrate(database.url, report);
    } else {
      report(`starting embedded PGlite on 127.0.0.1:${config.database.port} (data in ${path.join(stateDir(), 'pglite')})`);
      // Migrations run before the database is served to the one connection it allows (src/db/embedded.ts).
      const embedded = await startEmbeddedDatabase({ port: config.database.port, prepare: (url) => migrate(url, report) });
      stops.push(() => embedded.stop());
      database = { url: embedded.url, embedded: true, poolSize: embedded.poolSize };
    }

    // Temporal after the database: a local cluster may keep its own databases on the same server.
    let temporal: StackEndpoints['temporal'];
    if (config.temporal.mode === 'external') {
      report(`using Temporal at ${config.temporal.address} (namespace ${config.temporal.namespace})`);
      temporal = { address: config.temporal.address, namespace: config.temporal.namespace, uiUrl: null, kind: 'external' };
    } else if (config.temporal.mode === 'cluster') {
      const server = await startTemporalCluster({ databaseUrl: config.temporal.databaseUrl, grpcPort: config.temporal.grpcPort, report });
      stops.push(() => server.stop());
      pids.temporal = server.process.pid;
      temporal = { address: server.address, namespace: server.namespace, uiUrl: null, kind: 'cluster' };
      report(`Temporal cluster ready: ${server.address} (server metrics ${server.metricsUrl}; no Web UI in cluster mode)`);
    } else {
      const server = await startDevServer({
        grpcPort: config.temporal.grpcPort,
        uiPort: config.temporal.uiPort,
        report,
        ...(options.codecEndpoint ? { codecEndpoint: options.codecEndpoint } : {}),
      });
      stops.push(() => server.stop());
      if (server.process) pids.temporal = server.process.pid;
      temporal = { address: server.address, namespace: server.namespace, uiUrl: server.uiUrl, kind: 'dev-server' };
      report(`Temporal ready: ${server.address}, Web UI ${server.uiUrl}`);
    }

    let chain: StackEndpoints['chain'];
    let anchorerPrivateKey: Hex;
    let anchorerPool: Hex[] | undefined;
    if (chainConfig.mode === 'remote') {
      report(`using chain ${chainConfig.chainId} at ${chainConfig.rpcUrl}, registry ${chainConfig.registryAddress}`);
      chain = { rpcUrl: chainConfig.rpcUrl, chainId: chainConfig.chainId, registryAddress: chainConfig.registryAddress, local: false };
      anchorerPrivateKey = chainConfig.privateKey;
    } else {
      report(`starting anvil on 127.0.0.1:${chainConfig.anvilPort}`);
      const anvil = await startAnvil({
        port: chainConfig.anvilPort,
        stateFile: path.join(stateDir(), 'anvil-state.json'),
        logFile: path.join(logsDir, 'anvil.log'),
      });
      stops.push(() => anvil.stop());
      pids.anvil = anvil.pid;
      anchorerPrivateKey = ANVIL_DEPLOYER_PRIVATE_KEY;
      const registry = await ensureRegistry({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: anchorerPrivateKey });
      report(registry.deployed ? `deployed ExecutionRegistry at ${registry.address}` : `reusing ExecutionRegistry at ${registry.address}`);
      chain = { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, registryAddress: registry.address, local: true };
      anchorerPool = await authoriseLocalAnchorers(chain, anchorerPrivateKey);
    }

    const endpoints: StackEndpoints = { temporal, database, chain, pids };
    writeFileSync(stackFile(), `${JSON.stringify(endpoints, null, 2)}\n`);
    return { endpoints, anchorerPrivateKey, ...(anchorerPool ? { localAnchorerPool: anchorerPool } : {}), stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
