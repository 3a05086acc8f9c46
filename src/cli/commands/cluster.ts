import { Connection } from '@temporalio/client';
import { resolveTemporal } from '../../config/connections.js';
import { loadClusterConfig } from '../../devstack/cluster/cluster-config.js';
import { loadDevServerConfig } from '../../temporal/dev-server-config.js';
import { ConfigError } from '../../shared/errors.js';
import { temporalConnectionSecurity } from '../../temporal/connection-security.js';
import { ensureNamespace, waitForNamespace } from '../../temporal/namespace-setup.js';
import { say } from '../output.js';

/**
 * `parallelix cluster setup`: the project's namespace and search attributes on an existing Temporal service
 * (PARALLELIX_TEMPORAL_ADDRESS / _NAMESPACE), through its public APIs. Safe to run again; on Temporal Cloud create
 * the namespace in the Cloud console first (this then adds the search attributes only if the API key may).
 */
export async function clusterSetupCommand(flags: { retention?: string }): Promise<void> {
  if (flags.retention !== undefined && !/^\d+h$/.test(flags.retention)) throw new ConfigError('--retention must be a number of hours such as 72h');
  const temporal = resolveTemporal();
  const devConfig = loadDevServerConfig();
  const connection = await Connection.connect({ address: temporal.address, connectTimeout: 10_000, ...temporalConnectionSecurity() });
  try {
    const result = await ensureNamespace(
      connection,
      { namespace: temporal.namespace, retention: flags.retention ?? loadClusterConfig().retention, searchAttributes: devConfig.searchAttributes },
      say,
    );
    await waitForNamespace(connection, temporal.namespace);
    say(
      `namespace ${temporal.namespace} on ${temporal.address}: ${result.createdNamespace ? 'created' : 'already there'}, ` +
        `search attributes ${result.addedSearchAttributes.length > 0 ? `added ${result.addedSearchAttributes.join(', ')}` : 'already there'}`,
    );
  } finally {
    await connection.close();
  }
}
