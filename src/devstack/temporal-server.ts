import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ProvisioningError } from '../shared/errors.js';
import { stateDir } from '../shared/paths.js';
import { getFreePort, isPortOpen } from '../shared/ports.js';
import { spawnService, type ServiceProcess } from '../shared/service-process.js';
import { ensureTemporalCli, type ProgressReporter } from './temporal-cli.js';
import { loadDevServerConfig } from '../temporal/dev-server-config.js';
import { waitForTemporal } from './wait-for-temporal.js';

export interface DevServerOptions {
  /** gRPC port; 0 picks a free one. Default from temporal/dev-server.json (7233). */
  grpcPort?: number;
  /** Web UI port; 0 picks a free one. Default grpcPort + 1000. */
  uiPort?: number;
  /** SQLite file for persistence; `null` keeps the history in memory. Default `<state>/temporal/dev.sqlite`. */
  dbFile?: string | null;
  /** Codec server the Web UI calls to decode encrypted payloads. */
  codecEndpoint?: string;
  logFile?: string;
  report?: ProgressReporter;
  readyTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string;
  /** The server process when this project spawned it (absent when the SDK's downloaded server runs it). */
  process?: ServiceProcess;
  stop(): Promise<void>;
}

/** The project's search attributes and dynamic config as `start-dev` flags. */
function projectServerArgs(config: ReturnType<typeof loadDevServerConfig>): string[] {
  const args: string[] = [];
  for (const [name, type] of Object.entries(config.searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(config.dynamicConfig)) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  return args;
}

function devServerArgs(config: ReturnType<typeof loadDevServerConfig>, options: {
  grpcPort: number;
  uiPort: number;
  dbFile: string | null;
  codecEndpoint?: string;
}): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.grpcPort)];
  args.push('--ui-port', String(options.uiPort), '--namespace', config.namespace, '--log-level', 'warn');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  args.push(...projectServerArgs(config));
  if (options.dbFile) {
    for (const [pragma, value] of Object.entries(config.sqlitePragmas)) args.push('--sqlite-pragma', `${pragma}=${value}`);
  }
  if (options.codecEndpoint) args.push('--ui-codec-endpoint', options.codecEndpoint);
  return args;
}

function waitUntilReady(address: string, namespace: string, uiUrl: string, service: ServiceProcess, timeoutMs: number): Promise<void> {
  return waitForTemporal({
    label: 'Temporal dev server',
    address,
    service,
    timeoutMs,
    async ready(connection) {
      await connection.workflowService.describeNamespace({ namespace });
      const ui = await fetch(uiUrl).catch(() => undefined);
      return ui?.ok === true;
    },
  });
}

/**
 * Starts `temporal server start-dev` with the project's namespace, search attributes and dynamic config
 * (temporal/dev-server.json), waits until gRPC and the Web UI answer, and returns a handle that stops it.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const autoPorts = options.grpcPort === 0 || options.uiPort === 0;
  // A port picked as free can be taken by another process before the server binds it: pick again.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startDevServerOnce(options);
    } catch (error) {
      if (!autoPorts || attempt >= 3 || !(error instanceof PortTakenError)) throw error;
      options.report?.(`a chosen port was taken meanwhile; retrying with other ports (${attempt}/3)`);
    }
  }
}

/** The server exited at start-up because a port it was given was bound by someone else. */
class PortTakenError extends ProvisioningError {}

async function startDevServerOnce(options: DevServerOptions): Promise<DevServer> {
  const report = options.report ?? (() => undefined);
  const config = loadDevServerConfig();
  const cli = await ensureTemporalCli(report);
  const grpcPort = options.grpcPort === 0 ? await getFreePort() : options.grpcPort ?? config.defaultPorts.grpc;
  const uiPort = options.uiPort === 0 ? await getFreePort() : options.uiPort ?? grpcPort + 1000;
  if (await isPortOpen(grpcPort)) {
    throw new ProvisioningError(`Port ${grpcPort} is already in use; is another Temporal server running?`, {
      details: 'Stop it, or choose other ports with PARALLELIX_TEMPORAL_PORT / PARALLELIX_TEMPORAL_UI_PORT.',
    });
  }
  if (!cli) return startSdkDownloadedServer(config, { grpcPort, uiPort, dbFile: options.dbFile, report });
  const dbFile = options.dbFile === undefined ? path.join(stateDir(), 'temporal', 'dev.sqlite') : options.dbFile;
  if (dbFile) mkdirSync(path.dirname(dbFile), { recursive: true });
  const logFile = options.logFile ?? path.join(stateDir(), 'logs', `temporal-${grpcPort}.log`);
  const args = devServerArgs(config, {
    grpcPort,
    uiPort,
    dbFile,
    ...(options.codecEndpoint ? { codecEndpoint: options.codecEndpoint } : {}),
  });
  report(`starting Temporal dev server on 127.0.0.1:${grpcPort} (Web UI :${uiPort}${dbFile ? `, history in ${dbFile}` : ', in memory'})`);
  const service = spawnService({ name: 'temporal', command: cli.path, args, logFile });
  const address = `127.0.0.1:${grpcPort}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  try {
    await waitUntilReady(address, config.namespace, uiUrl, service, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await service.stop();
    const log = readFileSync(logFile, 'utf8');
    if (log.includes('address already in use')) {
      throw new PortTakenError(`Temporal dev server could not bind its ports (${grpcPort}, ${uiPort}).`, { details: `see ${logFile}`, cause: error });
    }
    throw error;
  }
  return { address, namespace: config.namespace, uiUrl, process: service, stop: () => service.stop() };
}

/**
 * Last resort without a CLI and without Go: the Temporal SDK downloads its pinned dev server (internet needed)
 * and runs it with the same namespace, search attributes and dynamic config.
 */
async function startSdkDownloadedServer(
  config: ReturnType<typeof loadDevServerConfig>,
  options: { grpcPort: number; uiPort: number; dbFile: string | null | undefined; report: ProgressReporter },
): Promise<DevServer> {
  options.report('no Temporal CLI and no Go toolchain: letting the Temporal SDK download its dev server (needs internet)');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const dbFile = options.dbFile === undefined ? path.join(stateDir(), 'temporal', 'dev.sqlite') : options.dbFile;
  if (dbFile) mkdirSync(path.dirname(dbFile), { recursive: true });
  let env;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download' },
        ip: '127.0.0.1',
        port: options.grpcPort,
        ui: true,
        uiPort: options.uiPort,
        namespace: config.namespace,
        ...(dbFile ? { dbFilename: dbFile } : {}),
        extraArgs: projectServerArgs(config),
      },
    });
  } catch (error) {
    throw new ProvisioningError('Could not download the Temporal dev server through the SDK.', {
      details: 'Install the Temporal CLI (PATH or PARALLELIX_TEMPORAL_CLI) or Go to build it offline.',
      cause: error,
    });
  }
  return {
    address: `127.0.0.1:${options.grpcPort}`,
    namespace: config.namespace,
    uiUrl: `http://127.0.0.1:${options.uiPort}`,
    stop: () => env.teardown(),
  };
}
