import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ANVIL_DEPLOYER_PRIVATE_KEY,
  createRegistryClient,
  ensureRegistry,
  loadChainConfig,
  localAnchorerPool,
  startAnvil,
  type ChainConfig,
} from '../chain/index.js';
import { loadStackConfig, type StackConfig } from '../config/stack-config.js';
import { stackFile, type StackEndpoints } from '../config/stack-file.js';
import { applyMigrations, ensureDatabase } from '../db/migrate.js';
import { redactUrl, withDatabase } from '../db/pg-url.js';
import { stateDir } from '../shared/paths.js';
import { createLogger } from '../shared/logger.js';
import { loadOperatorEndpointConfig } from '../operator-endpoint/config.js';
import { startOperatorEndpoint } from '../operator-endpoint/server.js';
import type { Registry } from 'prom-client';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import type { ProgressReporter } from './temporal-cli.js';
import { startTemporalCluster } from './cluster/temporal-cluster.js';
import { startDevServer } from './temporal-server.js';

/** Where everything of a running stack is; written to `<state>/stack.json` for the CLI and tests. */
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
  /** Where the operator endpoint's metrics go (the start process's registry). */
  metrics?: Registry;
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

/** The coordinator's database on the embedded server (other services may add their own beside it). */
export const EMBEDDED_DATABASE_NAME = 'parallelix';

/** What each part of the stack records as it starts: how to stop it, and the processes it runs. */
interface PartContext {
  report: ProgressReporter;
  logsDir: string;
  stops: (() => Promise<void>)[];
  pids: Record<string, number>;
}

/** The stack's database server, up (not yet migrated): the coordinator's database and the server's admin URL. */
interface DatabaseServer {
  url: string;
  embedded: boolean;
  /** The server's `postgres` database, for services that keep databases of their own beside the coordinator's. */
  adminUrl: string;
}

/**
 * Temporal: an existing one, the dev server, or the Temporal server on PostgreSQL. The latter keeps its databases
 * on PARALLELIX_TEMPORAL_DATABASE_URL's server, else on the stack's own (awaited: the embedded one starts beside).
 */
async function startTemporalPart(
  config: StackConfig['temporal'],
  codecEndpoint: string | undefined,
  databaseServer: Promise<DatabaseServer>,
  ctx: PartContext,
): Promise<StackEndpoints['temporal']> {
  if (config.mode === 'external') {
    ctx.report(`using Temporal at ${config.address} (namespace ${config.namespace})`);
    return { address: config.address, namespace: config.namespace, uiUrl: null, kind: 'external' };
  }
  if (config.mode === 'cluster') {
    const databaseUrl = config.databaseUrl ?? (await databaseServer).adminUrl;
    const server = await startTemporalCluster({ databaseUrl, grpcPort: config.grpcPort, report: ctx.report });
    ctx.stops.push(() => server.stop());
    ctx.pids.temporal = server.process.pid;
    ctx.report(`Temporal cluster ready: ${server.address} (server metrics ${server.metricsUrl}; no Web UI in cluster mode)`);
    return { address: server.address, namespace: server.namespace, uiUrl: null, kind: 'cluster' };
  }
  const server = await startDevServer({ grpcPort: config.grpcPort, uiPort: config.uiPort, report: ctx.report, ...(codecEndpoint ? { codecEndpoint } : {}) });
  ctx.stops.push(() => server.stop());
  if (server.process) ctx.pids.temporal = server.process.pid;
  ctx.report(`Temporal ready: ${server.address}, Web UI ${server.uiUrl}`);
  return { address: server.address, namespace: server.namespace, uiUrl: server.uiUrl, kind: 'dev-server' };
}

async function startDatabaseServer(config: StackConfig['database'], ctx: PartContext): Promise<DatabaseServer> {
  if (config.mode === 'postgres') {
    ctx.report(`using PostgreSQL at ${redactUrl(config.url)}`);
    if (await ensureDatabase(config.url)) ctx.report('created the database');
    return { url: config.url, embedded: false, adminUrl: withDatabase(config.url, 'postgres') };
  }
  const dir = path.join(stateDir(), 'postgres');
  ctx.report(`starting embedded PostgreSQL on 127.0.0.1:${config.port} (data in ${dir})`);
  const server = await startEmbeddedPostgres({ dir, port: config.port, logFile: path.join(ctx.logsDir, 'postgres.log'), report: ctx.report });
  ctx.stops.push(() => server.stop());
  ctx.pids.postgres = server.process.pid;
  ctx.report(`PostgreSQL ${server.version} ready${server.created ? ' (new cluster created)' : ''}`);
  return { url: await server.database(EMBEDDED_DATABASE_NAME), embedded: true, adminUrl: server.url() };
}

async function startDatabasePart(server: Promise<DatabaseServer>, ctx: PartContext): Promise<StackEndpoints['database']> {
  const { url, embedded } = await server;
  await migrate(url, ctx.report);
  return { url, embedded };
}

interface ChainPart {
  chain: StackEndpoints['chain'];
  anchorerPrivateKey: Hex;
  localAnchorerPool?: Hex[];
}

async function startChainPart(chainConfig: ChainConfig, ctx: PartContext): Promise<ChainPart> {
  if (chainConfig.mode === 'remote') {
    ctx.report(`using chain ${chainConfig.chainId} at ${chainConfig.rpcUrl}, registry ${chainConfig.registryAddress}`);
    return {
      chain: { rpcUrl: chainConfig.rpcUrl, chainId: chainConfig.chainId, registryAddress: chainConfig.registryAddress, local: false },
      anchorerPrivateKey: chainConfig.privateKey,
    };
  }
  ctx.report(`starting anvil on 127.0.0.1:${chainConfig.anvilPort}`);
  const anvil = await startAnvil({ port: chainConfig.anvilPort, stateFile: path.join(stateDir(), 'anvil-state.json'), logFile: path.join(ctx.logsDir, 'anvil.log') });
  ctx.stops.push(() => anvil.stop());
  ctx.pids.anvil = anvil.pid;
  const registry = await ensureRegistry({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY });
  ctx.report(registry.deployed ? `deployed ExecutionRegistry at ${registry.address}` : `reusing ExecutionRegistry at ${registry.address}`);
  const chain = { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, registryAddress: registry.address, local: true };
  return { chain, anchorerPrivateKey: ANVIL_DEPLOYER_PRIVATE_KEY, localAnchorerPool: await authoriseLocalAnchorers(chain, ANVIL_DEPLOYER_PRIVATE_KEY) };
}

/**
 * Brings up the stack the coordinator needs, each part on its embedded default unless configured:
 * Temporal (dev server + Web UI, or the Temporal server on PostgreSQL), the database (migrated), the chain (anvil +
 * registry contract). The parts start side by side (a local Temporal server on PostgreSQL waits for the database
 * server it keeps its own databases on); on a failure of any, what was started is stopped again.
 */
export async function startStack(options: StartStackOptions = {}): Promise<Stack> {
  const config = options.config ?? loadStackConfig();
  const chainConfig = loadChainConfig(); // validated before anything starts
  const logsDir = path.join(stateDir(), 'logs');
  mkdirSync(logsDir, { recursive: true });
  const ctx: PartContext = { report: options.report ?? (() => undefined), logsDir, stops: [], pids: {} };
  const stopAll = async (): Promise<void> => {
    while (ctx.stops.length > 0) await ctx.stops.pop()?.().catch(() => undefined);
    rmSync(stackFile(), { force: true });
  };
  // The parts start side by side; when several fail, the first failure is the cause worth reporting (a taken
  // PostgreSQL port is refused at once, while a later failure may be a consequence or a port race elsewhere).
  const failures: unknown[] = [];
  const noted = <T>(part: Promise<T>): Promise<T> =>
    part.catch((error: unknown) => {
      failures.push(error);
      throw error;
    });
  const databaseServer = startDatabaseServer(config.database, ctx);
  const [temporal, database, chain] = await Promise.allSettled([
    noted(startTemporalPart(config.temporal, options.codecEndpoint, databaseServer, ctx)),
    noted(startDatabasePart(databaseServer, ctx)),
    noted(startChainPart(chainConfig, ctx)),
  ]);
  if (temporal.status === 'rejected' || database.status === 'rejected' || chain.status === 'rejected') {
    await stopAll();
    throw failures[0];
  }
  const endpoints: StackEndpoints = { temporal: temporal.value, database: database.value, chain: chain.value.chain, pids: ctx.pids };
  try {
    // Operators connect here, never to Temporal: the endpoint admits each node only to its own queues.
    const operatorEndpoint = await startOperatorEndpoint({
      config: loadOperatorEndpointConfig(process.env, { temporal: { address: temporal.value.address, namespace: temporal.value.namespace } }),
      logger: createLogger('operator-endpoint'),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    ctx.stops.push(() => operatorEndpoint.close());
    ctx.report(`operator endpoint on ${operatorEndpoint.address}`);
    endpoints.operatorEndpoint = { address: operatorEndpoint.address };
    writeFileSync(stackFile(), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
    chmodSync(stackFile(), 0o600); // an existing file keeps its mode otherwise
  } catch (error) {
    await stopAll();
    throw error;
  }
  const { anchorerPrivateKey, localAnchorerPool: anchorerPool } = chain.value;
  return { endpoints, anchorerPrivateKey, ...(anchorerPool ? { localAnchorerPool: anchorerPool } : {}), stop: stopAll };
}
