import { createPrismaClient } from '../../db/client.js';
import { loadGatewaySettings } from '../../gateway/gateway-settings.js';
import { createGateway } from '../../gateway/server.js';
import { registerHttpMetrics } from '../../metrics/http-metrics.js';
import { startProcessMetrics } from '../../metrics/process-metrics.js';
import { createParallelixClient } from '../../sdk/index.js';
import { createLogger } from '../../shared/logger.js';
import { ProvisioningError } from '../../shared/errors.js';
import { resolveDatabaseUrl, resolveTemporal } from '../../config/connections.js';
import { say } from '../output.js';
import { waitForShutdownSignal } from '../shutdown.js';

export interface GatewayFlags {
  host?: string;
  port?: string;
}

/**
 * `parallelix gateway`: the OpenAI-compatible HTTP API (`/v1/chat/completions`, `/v1/responses`, `/v1/models`) on
 * PARALLELIX_GATEWAY_HOST:PARALLELIX_GATEWAY_PORT (default 127.0.0.1:8080), against a running stack or the
 * configured services, until Ctrl-C.
 */
export async function gatewayCommand(flags: GatewayFlags = {}): Promise<void> {
  const settings = loadGatewaySettings(flags);
  // The gateway needs only the database (API keys, offered models) and Temporal (the SDK), never the chain.
  const databaseUrl = resolveDatabaseUrl();
  const temporal = resolveTemporal();
  const db = createPrismaClient(databaseUrl);
  const sdk = await createParallelixClient(temporal);
  const metrics = await startProcessMetrics({ component: 'gateway', logger: createLogger('metrics') }).catch(async (error: unknown) => {
    await sdk.close();
    await db.$disconnect();
    throw error;
  });
  const app = createGateway({
    sdk,
    db,
    logger: createLogger('gateway'),
    defaultMaxTokens: settings.defaultMaxTokens,
    requestsPerMinute: settings.requestsPerMinute,
    ...(settings.corsOrigins ? { corsOrigins: settings.corsOrigins } : {}),
  });
  registerHttpMetrics(app, metrics.registry);
  try {
    await app.listen({ host: settings.host, port: settings.port });
  } catch (error) {
    await metrics.close();
    await sdk.close();
    await db.$disconnect();
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE') {
      throw new ProvisioningError(`Port ${settings.port} (gateway) is already in use`, { details: 'Choose another with --port or PARALLELIX_GATEWAY_PORT.' });
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  say(`gateway listening on http://${settings.host}:${port}/v1 (OpenAI-compatible; Temporal ${temporal.address})`);
  if (metrics.server) say(`metrics on ${metrics.server.url}`);
  await waitForShutdownSignal();
  // Requests in flight keep running in Temporal and are charged; close() only waits for open responses.
  await app.close();
  await metrics.close();
  await sdk.close();
  await db.$disconnect();
  say('gateway stopped');
}
