import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../src/devstack/temporal-server.js';

// Workers in tests log warnings and errors only (the bundler and state changes are noise).
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed by another helper in this test file
}

export interface TestTemporal {
  server: DevServer;
  connection: Connection;
  client: Client;
  stop(): Promise<void>;
}

/** A private Temporal dev server (in memory, free ports) and a client on the project's namespace. */
export async function startTestTemporal(options: { codecEndpoint?: string } = {}): Promise<TestTemporal> {
  const server = await startDevServer({ grpcPort: 0, uiPort: 0, dbFile: null, ...options });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  return {
    server,
    connection,
    client,
    async stop() {
      await connection.close();
      await server.stop();
    },
  };
}
