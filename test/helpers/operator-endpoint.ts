import { loadOperatorEndpointConfig } from '../../src/operator-endpoint/config.js';
import { startOperatorEndpoint, type OperatorEndpoint, type OperatorEndpointOptions } from '../../src/operator-endpoint/server.js';
import { createLogger } from '../../src/shared/logger.js';

/**
 * An operator endpoint on a free port in front of a test Temporal (in this process): operator processes of tests
 * connect through it, as in production. `env` adds endpoint settings (e.g. PARALLELIX_OPERATOR_SESSION_TTL_SECONDS).
 */
export function startTestOperatorEndpoint(
  temporal: { address: string; namespace: string },
  env: Record<string, string> = {},
  logger: OperatorEndpointOptions['logger'] = createLogger('operator-endpoint'),
): Promise<OperatorEndpoint> {
  return startOperatorEndpoint({
    config: loadOperatorEndpointConfig({ PARALLELIX_OPERATOR_ENDPOINT_PORT: '0', ...env }, { temporal: { address: temporal.address, namespace: temporal.namespace } }),
    logger,
  });
}
