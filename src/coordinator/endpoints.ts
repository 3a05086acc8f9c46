import { resolveAnchorerKey, resolveChainReader, resolveDatabase, resolveTemporal } from '../config/connections.js';
import type { CoordinatorOptions } from './coordinator.js';

/**
 * Where a standalone `parallelix coordinator` connects: each value from its environment variable, else from the
 * running local stack (`<state>/stack.json`, written by `parallelix start`). Missing values are a ConfigError.
 */
export function resolveCoordinatorEndpoints(env: NodeJS.ProcessEnv = process.env): Omit<CoordinatorOptions, 'policy'> {
  const database = resolveDatabase(env);
  const anchorer = resolveAnchorerKey(env);
  return {
    temporal: resolveTemporal(env),
    databaseUrl: database.url,
    ...(database.poolSize ? { databasePoolSize: database.poolSize } : {}),
    chain: { ...resolveChainReader(env), anchorerPrivateKey: anchorer.key, ...(anchorer.pool ? { localAnchorerPool: anchorer.pool } : {}) },
  };
}
