import { existsSync, readFileSync } from 'node:fs';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import { ANVIL_DEPLOYER_PRIVATE_KEY } from '../chain/anvil.js';
import { stackFile, type StackEndpoints } from '../devstack/stack.js';
import { ConfigError } from '../shared/errors.js';
import type { CoordinatorOptions } from './coordinator.js';

const envSchema = z.object({
  PARALLELIX_TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  PARALLELIX_TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL').optional(),
  PARALLELIX_CHAIN_RPC_URL: z.string().url().optional(),
  PARALLELIX_CHAIN_ID: z.coerce.number().int().positive().optional(),
  PARALLELIX_CHAIN_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x + 64 hex characters').optional(),
  PARALLELIX_REGISTRY_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be 0x + 40 hex characters').optional(),
});

/**
 * Where a standalone `parallelix coordinator` connects: each value from its environment variable, else from the
 * running local stack (`<state>/stack.json`, written by `parallelix start`). Missing values are a ConfigError.
 */
export function resolveCoordinatorEndpoints(env: NodeJS.ProcessEnv = process.env): Omit<CoordinatorOptions, 'policy'> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError('invalid coordinator configuration', {
      details: parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '),
    });
  }
  const e = parsed.data;
  const stack = existsSync(stackFile()) ? (JSON.parse(readFileSync(stackFile(), 'utf8')) as StackEndpoints) : undefined;
  const missing = (name: string): never => {
    throw new ConfigError(`${name} is not set and no local stack is running`, {
      details: 'Run `parallelix start` in another terminal, or set the coordinator variables (see README "Configuration").',
    });
  };
  const rpcUrl = e.PARALLELIX_CHAIN_RPC_URL ?? stack?.chain.rpcUrl ?? missing('PARALLELIX_CHAIN_RPC_URL');
  const localChain = !e.PARALLELIX_CHAIN_RPC_URL && stack?.chain.local === true;
  return {
    temporal: {
      address: e.PARALLELIX_TEMPORAL_ADDRESS ?? stack?.temporal.address ?? '127.0.0.1:7233',
      namespace: e.PARALLELIX_TEMPORAL_NAMESPACE ?? stack?.temporal.namespace ?? 'parallelix',
    },
    databaseUrl: e.DATABASE_URL ?? stack?.database.url ?? missing('DATABASE_URL'),
    ...(stack?.database.poolSize && !e.DATABASE_URL ? { databasePoolSize: stack.database.poolSize } : {}),
    chain: {
      rpcUrl,
      chainId: e.PARALLELIX_CHAIN_ID ?? stack?.chain.chainId ?? missing('PARALLELIX_CHAIN_ID'),
      registryAddress: (e.PARALLELIX_REGISTRY_ADDRESS ?? stack?.chain.registryAddress ?? missing('PARALLELIX_REGISTRY_ADDRESS')) as Address,
      anchorerPrivateKey: (e.PARALLELIX_CHAIN_PRIVATE_KEY ?? (localChain ? ANVIL_DEPLOYER_PRIVATE_KEY : missing('PARALLELIX_CHAIN_PRIVATE_KEY'))) as Hex,
    },
  };
}
