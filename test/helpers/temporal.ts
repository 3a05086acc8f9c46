import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTemporalCluster } from '../../src/devstack/cluster/temporal-cluster.js';
import { startDevServer, type DevServer } from '../../src/devstack/temporal-server.js';
import { dropTestDatabases, testAdminUrl, uniqueDatabaseName } from './database.js';

// Workers in tests log warnings and errors only (the bundler and state changes are noise).
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed by another helper in this test file
}

/** What tests use of a Temporal server, dev server or cluster alike. */
export interface TestTemporalServer {
  address: string;
  namespace: string;
  stop(): Promise<void>;
}

export interface TestTemporal<S extends TestTemporalServer = DevServer> {
  server: S;
  /** The server's guard process (its process group holds the server), for CPU accounting. */
  serverPid: number | null;
  connection: Connection;
  client: Client;
  stop(): Promise<void>;
}

async function withClient<S extends TestTemporalServer>(server: S, serverPid: number | null, cleanUp: () => Promise<void> = async () => undefined): Promise<TestTemporal<S>> {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  return {
    server,
    serverPid,
    connection,
    client,
    async stop() {
      await connection.close();
      await server.stop();
      await cleanUp();
    },
  };
}

/** A private Temporal dev server (in memory, free ports) and a client on the project's namespace. */
export async function startTestTemporal(options: { codecEndpoint?: string } = {}): Promise<TestTemporal> {
  const server = await startDevServer({ grpcPort: 0, uiPort: 0, dbFile: null, ...options });
  return withClient(server, server.process?.pid ?? null);
}

export interface TestCluster extends TestTemporalServer {
  /** The server's own two databases on the test PostgreSQL server. */
  databases: { default: string; visibility: string };
  metricsUrl: string;
}

/**
 * A private Temporal cluster: the real server (frontend, history, matching, worker) on fresh databases of the test
 * PostgreSQL server with the official schema, free ports, the project's namespace; both databases dropped on stop.
 */
export async function startTestCluster(options: { report?: (message: string) => void } = {}): Promise<TestTemporal<TestCluster>> {
  const base = uniqueDatabaseName();
  const databases = { default: `${base}_temporal`, visibility: `${base}_visibility` };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'px-cluster-'));
  const cleanUp = async (): Promise<void> => {
    await dropTestDatabases([databases.default, databases.visibility]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const cluster = await startTemporalCluster({ databaseUrl: testAdminUrl(), databases, grpcPort: 0, dir, logFile: path.join(dir, 'server.log'), ...options });
    return await withClient({ ...cluster, databases }, cluster.process.pid, cleanUp);
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
