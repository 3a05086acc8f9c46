import { resolveAnchorerKey, resolveChainReader, resolveDatabaseUrl, resolveTemporal } from '../config/connections.js';
import type { CoordinatorOptions } from './coordinator.js';

/**
 * Where a standalone `parallelix coordinator` connects: each value from its environment variable, else from the
 * running local stack (`<state>/stack.json`, written by `parallelix start`). Missing values are a ConfigError.
 */
export function resolveCoordinatorEndpoints(env: NodeJS.ProcessEnv = process.env): Omit<CoordinatorOptions, 'policy'> {
  const anchorer = resolveAnchorerKey(env);
  return {
    temporal: resolveTemporal(env),
    databaseUrl: resolveDatabaseUrl(env),
    chain: { ...resolveChainReader(env), anchorerPrivateKey: anchorer.key, ...(anchorer.pool ? { localAnchorerPool: anchorer.pool } : {}) },
  };
}
