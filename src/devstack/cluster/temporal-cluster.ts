import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redactUrl } from '../../db/pg-url.js';
import { ProvisioningError } from '../../shared/errors.js';
import { stateDir } from '../../shared/paths.js';
import { ensureNamespace, waitForNamespace } from '../../temporal/namespace-setup.js';
import type { ProgressReporter } from '../go-install.js';
import { getFreePortInRange, isPortOpen } from '../../shared/ports.js';
import { spawnService, type ServiceProcess } from '../../shared/service-process.js';
import { waitForTemporal } from '../wait-for-temporal.js';
import { loadDevServerConfig } from '../../temporal/dev-server-config.js';
import {
  loadClusterConfig,
  portsFromFrontend,
  renderDynamicConfig,
  renderServerConfig,
  sqlEndpointFromUrl,
  SQL_PASSWORD_ENV,
  type ClusterPorts,
} from './cluster-config.js';
import { ensureServerBinaries } from './server-binaries.js';
import { applyServerSchema } from './server-schema.js';

export interface TemporalClusterOptions {
  /** A PostgreSQL server where the cluster may create its databases (an admin URL, e.g. …/postgres). */
  databaseUrl: string;
  /** Database names; default `temporal/cluster.json` (parallelix_temporal, parallelix_temporal_visibility). */
  databases?: { default: string; visibility: string };
  /** Frontend gRPC port; the other services sit at fixed offsets. 0 picks free ports for all. Default 7233. */
  grpcPort?: number;
  /** Folder for the generated config and dynamic config. Default `<state>/temporal-cluster`. */
  dir?: string;
  logFile?: string;
  report?: ProgressReporter;
  readyTimeoutMs?: number;
}

export interface TemporalCluster {
  address: string;
  namespace: string;
  /** No Web UI is started with the cluster (see docs/deploy.md). */
  uiUrl: null;
  /** The server's own Prometheus endpoint. */
  metricsUrl: string;
  ports: ClusterPorts;
  process: ServiceProcess;
  stop(): Promise<void>;
}

/** Free ports for every service; below 32768, since the server's membership table stores ports as smallint. */
async function freePorts(): Promise<ClusterPorts> {
  const next = (): Promise<number> => getFreePortInRange(20_000, 32_767);
  return {
    frontend: await next(),
    frontendHttp: await next(),
    frontendMembership: await next(),
    history: await next(),
    historyMembership: await next(),
    matching: await next(),
    matchingMembership: await next(),
    worker: await next(),
    workerMembership: await next(),
    metrics: await next(),
  };
}

/**
 * A frontend port whose fixed-offset ports (portsFromFrontend) are all free now, every one of them below the OS's
 * ephemeral range (so no port another process gets from the OS collides) and below 32768 (membership ports).
 */
export async function getFreeClusterFrontendPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const frontend = await getFreePortInRange(20_300, 31_000);
    const others = Object.values(portsFromFrontend(frontend)).filter((port) => port !== frontend);
    if ((await Promise.all(others.map((port) => isPortOpen(port)))).every((open) => !open)) return frontend;
  }
  throw new ProvisioningError('no free set of Temporal server ports found in 20000-31767');
}

/** The server exited at start-up because a port it was given was bound by someone else. */
class PortTakenError extends ProvisioningError {}

/**
 * Runs the real Temporal server (frontend, history, matching and worker services in one process) on PostgreSQL:
 * builds the pinned server and SQL tool if needed, applies the official schema with that tool, writes the server
 * config and the dynamic config (the dev server's values: one task-queue partition, …), starts the server under
 * the orphan guard, and registers the project's namespace and search attributes through the operator API.
 */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const report = options.report ?? (() => undefined);
  const cluster = loadClusterConfig();
  const binaries = await ensureServerBinaries(report);
  const sql = sqlEndpointFromUrl(options.databaseUrl);
  const databases = options.databases ?? cluster.databases;
  const dir = options.dir ?? path.join(stateDir(), 'temporal-cluster');
  const logsDir = path.join(stateDir(), 'logs');
  report(`Temporal cluster databases ${databases.default}, ${databases.visibility} on ${redactUrl(options.databaseUrl)}`);
  await applyServerSchema({
    sqlTool: binaries.sqlTool,
    adminUrl: options.databaseUrl,
    sql,
    cluster,
    databases,
    logFile: path.join(logsDir, 'temporal-sql-tool.log'),
    report,
  });
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startServerOnce({ ...options, report, dir, databases, serverBinary: binaries.server, sql });
    } catch (error) {
      if (options.grpcPort !== 0 || attempt >= 3 || !(error instanceof PortTakenError)) throw error;
      report(`a chosen port was taken meanwhile; retrying with other ports (${attempt}/3)`);
    }
  }
}

async function startServerOnce(options: TemporalClusterOptions & {
  report: ProgressReporter;
  dir: string;
  databases: { default: string; visibility: string };
  serverBinary: string;
  sql: ReturnType<typeof sqlEndpointFromUrl>;
}): Promise<TemporalCluster> {
  const cluster = loadClusterConfig();
  const devConfig = loadDevServerConfig();
  const ports = options.grpcPort === 0 ? await freePorts() : portsFromFrontend(options.grpcPort ?? devConfig.defaultPorts.grpc);
  if (await isPortOpen(ports.frontend)) {
    throw new ProvisioningError(`Port ${ports.frontend} is already in use; is another Temporal server running?`, {
      details: 'Stop it, or choose another port with PARALLELIX_TEMPORAL_PORT.',
    });
  }
  const configDir = path.join(options.dir, 'config');
  mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = path.join(options.dir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, renderDynamicConfig(devConfig.dynamicConfig));
  writeFileSync(
    path.join(configDir, 'development.yaml'),
    renderServerConfig({ cluster, sql: options.sql, databases: options.databases, ports, dynamicConfigFile }),
    { mode: 0o600 },
  );
  const logFile = options.logFile ?? path.join(stateDir(), 'logs', `temporal-cluster-${ports.frontend}.log`);
  const address = `127.0.0.1:${ports.frontend}`;
  options.report(`starting Temporal server ${cluster.serverVersion} on ${address} (frontend, history, matching, worker; log ${logFile})`);
  const service = spawnService({
    name: 'temporal-server',
    command: options.serverBinary,
    args: ['--root', options.dir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'],
    logFile,
    env: { ...process.env, ...(options.sql.hasPassword ? { [SQL_PASSWORD_ENV]: options.sql.password } : {}) },
  });
  try {
    await waitUntilServing(address, service, options.readyTimeoutMs ?? 120_000, options.report);
  } catch (error) {
    await service.stop();
    if (readFileSync(logFile, 'utf8').includes('address already in use')) {
      throw new PortTakenError(`Temporal server could not bind its ports (frontend ${ports.frontend}).`, { details: `see ${logFile}`, cause: error });
    }
    throw error;
  }
  return {
    address,
    namespace: devConfig.namespace,
    uiUrl: null,
    metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
    ports,
    process: service,
    stop: () => service.stop(30_000),
  };
}

/** Until the frontend answers and the project's namespace (registered here, idempotently) serves workflow APIs. */
function waitUntilServing(address: string, service: ServiceProcess, timeoutMs: number, report: ProgressReporter): Promise<void> {
  const devConfig = loadDevServerConfig();
  const spec = { namespace: devConfig.namespace, retention: loadClusterConfig().retention, searchAttributes: devConfig.searchAttributes };
  return waitForTemporal({
    label: 'Temporal server',
    address,
    service,
    timeoutMs,
    intervalMs: 500,
    async ready(connection, deadline) {
      await connection.workflowService.getSystemInfo({});
      await ensureNamespace(connection, spec, report);
      await waitForNamespace(connection, spec.namespace, Math.max(1_000, deadline - Date.now()));
      return true;
    },
  });
}
