import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { ANVIL_DEPLOYER_PRIVATE_KEY, localAnchorerPool } from '../chain/anvil.js';
import { z } from 'zod';
import type { CodecKey } from '../codec/codec-key.js';
import { codecKeyFile, coordinatorKeyDir, loadOrCreateCodecKey } from '../codec/codec-key.js';
import { createPrismaClient, type PrismaClient } from '../db/client.js';
import { stackFile, type StackEndpoints } from './stack-file.js';
import { ConfigError } from '../shared/errors.js';
import { parseEnv } from '../shared/parse-env.js';

/**
 * Where the services are, for every process but `parallelix start`: each value from its environment variable, else
 * from the running local stack (`<state>/stack.json`). Each resolver asks only for what its caller uses (no
 * anchoring key to read the chain, no chain to top up credits).
 */
const envSchema = z.object({
  PARALLELIX_TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  PARALLELIX_TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL').optional(),
  PARALLELIX_CHAIN_RPC_URL: z.string().url().optional(),
  PARALLELIX_CHAIN_ID: z.coerce.number().int().positive().optional(),
  PARALLELIX_REGISTRY_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be 0x + 40 hex characters').optional(),
  PARALLELIX_CHAIN_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x + 64 hex characters').optional(),
});
type Env = z.infer<typeof envSchema>;

function read(env: NodeJS.ProcessEnv): { e: Env; stack: StackEndpoints | undefined } {
  const e = parseEnv(envSchema, env, 'connection');
  const stack = existsSync(stackFile()) ? (JSON.parse(readFileSync(stackFile(), 'utf8')) as StackEndpoints) : undefined;
  return { e, stack };
}

function missing(name: string): never {
  throw new ConfigError(`${name} is not set and no local stack is running`, {
    details: 'Run `parallelix start` in another terminal, or set the variable (see README "Configuration").',
  });
}

/** The coordinator's database: DATABASE_URL, else the running local stack's (its embedded PostgreSQL or its DATABASE_URL). */
export function resolveDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const { e, stack } = read(env);
  return e.DATABASE_URL ?? stack?.database.url ?? missing('DATABASE_URL');
}

/** A Prisma client with one connection: the tool commands run a few queries one after another. */
export function openDatabase(env: NodeJS.ProcessEnv = process.env): PrismaClient {
  return createPrismaClient(resolveDatabaseUrl(env), { maxConnections: 1 });
}

/** True when a local stack (`parallelix start`) has written its endpoints in this state folder. */
export function localStackRunning(): boolean {
  return existsSync(stackFile());
}

export function resolveTemporal(env: NodeJS.ProcessEnv = process.env): { address: string; namespace: string } {
  const { e, stack } = read(env);
  return {
    address: e.PARALLELIX_TEMPORAL_ADDRESS ?? stack?.temporal.address ?? '127.0.0.1:7233',
    namespace: e.PARALLELIX_TEMPORAL_NAMESPACE ?? stack?.temporal.namespace ?? 'parallelix',
  };
}

export function resolveChainReader(env: NodeJS.ProcessEnv = process.env): { rpcUrl: string; chainId: number; registryAddress: Address } {
  const { e, stack } = read(env);
  return {
    rpcUrl: e.PARALLELIX_CHAIN_RPC_URL ?? stack?.chain.rpcUrl ?? missing('PARALLELIX_CHAIN_RPC_URL'),
    chainId: e.PARALLELIX_CHAIN_ID ?? stack?.chain.chainId ?? missing('PARALLELIX_CHAIN_ID'),
    registryAddress: (e.PARALLELIX_REGISTRY_ADDRESS ?? stack?.chain.registryAddress ?? missing('PARALLELIX_REGISTRY_ADDRESS')) as Address,
  };
}

/**
 * The coordinator's box key pair (operators seal results to it): PARALLELIX_COORDINATOR_KEY_FILE, else
 * `<state>/coordinator/coordinator-key.json`. Every coordinator process must use the same file: a result sealed
 * while one process ran the request may be verified by another.
 */
export function coordinatorKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.PARALLELIX_COORDINATOR_KEY_FILE || path.join(coordinatorKeyDir(), 'coordinator-key.json');
}

/** The coordinator's codec key if this machine has it (PARALLELIX_CODEC_KEY or the key file); never creates one. */
export function existingCodecKey(env: NodeJS.ProcessEnv = process.env): CodecKey | null {
  if (!env.PARALLELIX_CODEC_KEY && !existsSync(codecKeyFile())) return null;
  return loadOrCreateCodecKey(codecKeyFile(), env);
}

/**
 * The key the coordinator anchors with: PARALLELIX_CHAIN_PRIVATE_KEY, or the anvil dev key when the chain is the
 * local stack's anvil (never printed). On that dev chain a `pool` of further dev keys (authorised by the stack)
 * lets several coordinator processes each take an account of their own.
 */
export function resolveAnchorerKey(env: NodeJS.ProcessEnv = process.env): { key: Hex; pool?: Hex[] } {
  const { e, stack } = read(env);
  if (e.PARALLELIX_CHAIN_PRIVATE_KEY) return { key: e.PARALLELIX_CHAIN_PRIVATE_KEY as Hex };
  if (!e.PARALLELIX_CHAIN_RPC_URL && stack?.chain.local) return { key: ANVIL_DEPLOYER_PRIVATE_KEY, pool: localAnchorerPool() };
  return missing('PARALLELIX_CHAIN_PRIVATE_KEY');
}
