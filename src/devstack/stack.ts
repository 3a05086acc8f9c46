import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { ANVIL_DEPLOYER_PRIVATE_KEY, ensureRegistry, loadChainConfig, startAnvil } from '../chain/index.js';
import { loadStackConfig, type StackConfig } from '../config/stack-config.js';
import { startEmbeddedDatabase } from '../db/embedded.js';
import { applyMigrations, ensureDatabase } from '../db/migrate.js';
import { redactUrl } from '../db/pg-url.js';
import { stateDir } from '../shared/paths.js';
import type { ProgressReporter } from './temporal-cli.js';
import { startDevServer } from './temporal-server.js';

/** Where everything of a running stack is; written to `<state>/stack.json` for the CLI and tests. */
export interface StackEndpoints {
  temporal: { address: string; namespace: string; uiUrl: string | null };
  database: { url: string; embedded: boolean; poolSize: number | null };
  chain: { rpcUrl: string; chainId: number; registryAddress: Address; local: boolean };
  /** Processes this stack started (pid per service); none remain after stop(). */
  pids: Record<string, number>;
}

export interface Stack {
  endpoints: StackEndpoints;
  /** Private key the coordinator anchors with (the anvil dev deployer locally). Never printed. */
  anchorerPrivateKey: Hex;
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

export function stackFile(): string {
  return path.join(stateDir(), 'stack.json');
}

/**
 * Brings up the stack the coordinator needs, each part on its embedded default unless configured:
 * Temporal dev server + Web UI, the database (migrated), the chain (anvil + registry contract).
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
    let temporal: StackEndpoints['temporal'];
    if (config.temporal.mode === 'external') {
      report(`using Temporal at ${config.temporal.address} (namespace ${config.temporal.namespace})`);
      temporal = { address: config.temporal.address, namespace: config.temporal.namespace, uiUrl: null };
    } else {
      const server = await startDevServer({
        grpcPort: config.temporal.grpcPort,
        uiPort: config.temporal.uiPort,
        report,
        ...(options.codecEndpoint ? { codecEndpoint: options.codecEndpoint } : {}),
      });
      stops.push(() => server.stop());
      if (server.process) pids.temporal = server.process.pid;
      temporal = { address: server.address, namespace: server.namespace, uiUrl: server.uiUrl };
      report(`Temporal ready: ${server.address}, Web UI ${server.uiUrl}`);
    }

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

    let chain: StackEndpoints['chain'];
    let anchorerPrivateKey: Hex;
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
    }

    const endpoints: StackEndpoints = { temporal, database, chain, pids };
    writeFileSync(stackFile(), `${JSON.stringify(endpoints, null, 2)}\n`);
    return { endpoints, anchorerPrivateKey, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
