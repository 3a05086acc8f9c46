import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors.js';
import { projectRoot } from '../../shared/paths.js';
import type { DevServerConfig } from '../../temporal/dev-server-config.js';

const clusterConfigSchema = z.object({
  serverVersion: z.string().regex(/^v\d+\.\d+\.\d+$/),
  serverPackage: z.string(),
  sqlToolPackage: z.string(),
  sqlPlugin: z.literal('postgres12'),
  schemas: z.object({ default: z.string(), visibility: z.string() }),
  databases: z.object({ default: z.string().min(1), visibility: z.string().min(1) }),
  numHistoryShards: z.number().int().positive(),
  retention: z.string().regex(/^\d+h$/),
  maxConns: z.object({ default: z.number().int().positive(), visibility: z.number().int().positive() }),
});

export type ClusterConfig = z.infer<typeof clusterConfigSchema>;

/** The local cluster's configuration committed in `temporal/cluster.json`. */
export function loadClusterConfig(): ClusterConfig {
  const file = path.join(projectRoot, 'temporal', 'cluster.json');
  return clusterConfigSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** Where the server's databases live: a PostgreSQL server reached as this user (password passed by env only). */
export interface SqlEndpoint {
  host: string;
  port: number;
  user: string;
  /** Whether the server has a password in the URL (the value itself never enters a file or a command line). */
  hasPassword: boolean;
  tls: { enabled: boolean; verifyHost: boolean };
}

/** Environment variable the rendered server config reads the SQL password from (sprig's `env` in the template). */
export const SQL_PASSWORD_ENV = 'PARALLELIX_TEMPORAL_SQL_PASSWORD';

/** A postgres:// URL as the server's SQL settings; sslmode disable (default), require or verify-full. */
export function sqlEndpointFromUrl(url: string): SqlEndpoint & { password: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError('the PostgreSQL URL for the Temporal cluster is not a valid URL');
  }
  if (!/^postgres(ql)?:$/.test(u.protocol)) throw new ConfigError('the PostgreSQL URL for the Temporal cluster must start with postgresql://');
  const sslmode = u.searchParams.get('sslmode') ?? 'disable';
  if (!['disable', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(sslmode)) {
    throw new ConfigError(`unsupported sslmode ${sslmode} in the PostgreSQL URL for the Temporal cluster`);
  }
  const password = decodeURIComponent(u.password);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || 'postgres',
    password,
    hasPassword: password !== '',
    tls: { enabled: sslmode === 'require' || sslmode.startsWith('verify'), verifyHost: sslmode === 'verify-full' },
  };
}

/** Ports of one all-in-one server process: each service's gRPC and membership port, frontend HTTP, metrics. */
export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  /** The server's own Prometheus endpoint. */
  metrics: number;
}

/** Fixed offsets from the frontend port when it is given, like the server's development config (7233 → 7234, 7235, …). */
export function portsFromFrontend(frontend: number): ClusterPorts {
  return {
    frontend,
    frontendHttp: frontend + 10,
    frontendMembership: frontend - 300,
    history: frontend + 1,
    historyMembership: frontend - 299,
    matching: frontend + 2,
    matchingMembership: frontend - 298,
    worker: frontend + 6,
    workerMembership: frontend - 294,
    metrics: frontend + 767,
  };
}

export interface ServerConfigInput {
  cluster: ClusterConfig;
  sql: SqlEndpoint;
  /** Database names (the defaults from cluster.json, or a per-test prefix). */
  databases: { default: string; visibility: string };
  ports: ClusterPorts;
  dynamicConfigFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

function datastore(input: ServerConfigInput, database: string, maxConns: number): Record<string, unknown> {
  return {
    sql: {
      pluginName: input.cluster.sqlPlugin,
      databaseName: database,
      connectAddr: `${input.sql.host}:${input.sql.port}`,
      connectProtocol: 'tcp',
      user: input.sql.user,
      // Rendered by the server from its environment: the password is in no file and on no command line. The name
      // is a Go raw string (backquotes): a double-quoted one would reach the template escaped inside this JSON string.
      ...(input.sql.hasPassword ? { password: `{{ env \`${SQL_PASSWORD_ENV}\` }}` } : {}),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
      ...(input.sql.tls.enabled ? { tls: { enabled: true, enableHostVerification: input.sql.tls.verifyHost } } : {}),
    },
  };
}

function service(grpcPort: number, membershipPort: number, httpPort?: number): Record<string, unknown> {
  return { rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...(httpPort ? { httpPort } : {}) } };
}

/**
 * The server's configuration for one process running frontend, history, matching and worker on 127.0.0.1, with
 * the default and visibility stores on PostgreSQL, as JSON (which the server's YAML loader reads).
 */
export function renderServerConfig(input: ServerConfigInput): string {
  const { ports } = input;
  const frontendAddress = `127.0.0.1:${ports.frontend}`;
  const config = {
    log: { stdout: true, level: input.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: input.cluster.numHistoryShards,
      datastores: {
        default: datastore(input, input.databases.default, input.cluster.maxConns.default),
        visibility: datastore(input, input.databases.visibility, input.cluster.maxConns.visibility),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${ports.metrics}` } },
    },
    services: {
      frontend: service(ports.frontend, ports.frontendMembership, ports.frontendHttp),
      history: service(ports.history, ports.historyMembership),
      matching: service(ports.matching, ports.matchingMembership),
      worker: service(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontendAddress, httpAddress: `127.0.0.1:${ports.frontendHttp}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: frontendAddress },
    dynamicConfigClient: { filepath: input.dynamicConfigFile, pollInterval: '10s' },
  };
  // The first line turns on the server's templating, which fills in the password from the environment.
  const header = input.sql.hasPassword ? '# enable-template\n' : '';
  return `${header}${JSON.stringify(config, null, 2)}\n`;
}

/** The dev server's dynamic config values (temporal/dev-server.json) as the server's dynamic config file. */
export function renderDynamicConfig(values: DevServerConfig['dynamicConfig']): string {
  const file: Record<string, { value: string | number | boolean; constraints: Record<string, never> }[]> = {};
  for (const [key, value] of Object.entries(values)) file[key] = [{ value, constraints: {} }];
  return `${JSON.stringify(file, null, 2)}\n`;
}
