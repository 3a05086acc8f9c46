import { loadOperatorEndpointConfig } from '../../operator-endpoint/config.js';
import { startOperatorEndpoint } from '../../operator-endpoint/server.js';
import { startProcessMetrics } from '../../metrics/process-metrics.js';
import { ConfigError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { say } from '../output.js';
import { waitForShutdownSignal } from '../shutdown.js';

/** `parallelix operator-endpoint`: the operator endpoint in front of the configured Temporal until Ctrl-C. */
export async function operatorEndpointCommand(flags: { port?: string }): Promise<void> {
  let port: number | undefined;
  if (flags.port !== undefined) {
    port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError('--port must be a port number (0-65535)');
  }
  const config = loadOperatorEndpointConfig(process.env, port === undefined ? {} : { port });
  const metrics = await startProcessMetrics({ component: 'operator-endpoint', logger: createLogger('metrics') });
  let endpoint;
  try {
    endpoint = await startOperatorEndpoint({ config, logger: createLogger('operator-endpoint'), metrics: metrics.registry });
  } catch (error) {
    await metrics.close();
    throw error;
  }
  if (metrics.server) say(`operator endpoint metrics on ${metrics.server.url}`);
  say(`operator endpoint ready on ${endpoint.address} (Temporal ${config.temporal.address}, namespace ${config.temporal.namespace}${config.tls ? ', TLS' : ''})`);
  try {
    await waitForShutdownSignal();
    await endpoint.close();
  } finally {
    await metrics.close();
  }
  say('operator endpoint stopped');
}
