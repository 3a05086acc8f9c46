import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { ConfigError } from '../shared/errors.js';

/**
 * Chain configuration from the environment.
 * - No PARALLELIX_CHAIN_* / PARALLELIX_REGISTRY_ADDRESS set: local mode (embedded anvil, dev key,
 *   registry deployed on demand).
 * - PARALLELIX_CHAIN_RPC_URL set: remote mode; PARALLELIX_CHAIN_ID, PARALLELIX_CHAIN_PRIVATE_KEY
 *   and PARALLELIX_REGISTRY_ADDRESS are then required.
 * Optional in both: PARALLELIX_CHAIN_CONFIRMATIONS (default 1); local only: PARALLELIX_ANVIL_PORT (default 8545).
 */
export type ChainConfig =
  | { mode: 'local'; anvilPort: number; confirmations: number }
  | { mode: 'remote'; rpcUrl: string; chainId: number; privateKey: Hex; registryAddress: Address; confirmations: number };

const REMOTE_KEYS = [
  'PARALLELIX_CHAIN_RPC_URL',
  'PARALLELIX_CHAIN_ID',
  'PARALLELIX_CHAIN_PRIVATE_KEY',
  'PARALLELIX_REGISTRY_ADDRESS',
] as const;

const positiveInt = (what: string) =>
  z
    .string()
    .regex(/^\d+$/, `${what} must be a positive integer`)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n > 0, `${what} must be a positive integer`);

// Messages never echo the value: the private key must not end up in logs.
const remoteSchema = z.object({
  PARALLELIX_CHAIN_RPC_URL: z
    .string({ error: 'is required' })
    .regex(/^(https?|wss?):\/\/\S+$/, 'must be an http(s) or ws(s) URL'),
  PARALLELIX_CHAIN_ID: positiveInt('chain id'),
  PARALLELIX_CHAIN_PRIVATE_KEY: z
    .string({ error: 'is required' })
    .regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x followed by 64 hex characters'),
  PARALLELIX_REGISTRY_ADDRESS: z
    .string({ error: 'is required' })
    .regex(/^0x[0-9a-fA-F]{40}$/, 'must be 0x followed by 40 hex characters')
    .refine((a) => isAddress(a, { strict: true }), 'has a wrong EIP-55 checksum'),
  PARALLELIX_CHAIN_CONFIRMATIONS: positiveInt('confirmations').optional(),
});

const localSchema = z.object({
  PARALLELIX_ANVIL_PORT: positiveInt('port')
    .refine((n) => n < 65536, 'port must be below 65536')
    .optional(),
  PARALLELIX_CHAIN_CONFIRMATIONS: positiveInt('confirmations').optional(),
});

function fail(issues: z.core.$ZodIssue[]): never {
  const lines = issues.map((i) => `${i.path.join('.') || '(env)'} ${i.message}`);
  throw new ConfigError('invalid chain configuration', { details: lines.join('; ') });
}

export function loadChainConfig(env: NodeJS.ProcessEnv = process.env): ChainConfig {
  const present = REMOTE_KEYS.filter((k) => env[k] !== undefined && env[k] !== '');
  if (present.length === 0) {
    const parsed = localSchema.safeParse(env);
    if (!parsed.success) fail(parsed.error.issues);
    return {
      mode: 'local',
      anvilPort: parsed.data.PARALLELIX_ANVIL_PORT ?? 8545,
      confirmations: parsed.data.PARALLELIX_CHAIN_CONFIRMATIONS ?? 1,
    };
  }
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = remoteSchema.safeParse(cleaned);
  if (!parsed.success) {
    const missing = REMOTE_KEYS.filter((k) => !present.includes(k));
    if (missing.length > 0) {
      throw new ConfigError(`incomplete chain configuration: set all of ${REMOTE_KEYS.join(', ')} or none`, {
        details: `missing: ${missing.join(', ')}`,
      });
    }
    fail(parsed.error.issues);
  }
  const d = parsed.data;
  return {
    mode: 'remote',
    rpcUrl: d.PARALLELIX_CHAIN_RPC_URL,
    chainId: d.PARALLELIX_CHAIN_ID,
    privateKey: d.PARALLELIX_CHAIN_PRIVATE_KEY as Hex,
    registryAddress: getAddress(d.PARALLELIX_REGISTRY_ADDRESS),
    confirmations: d.PARALLELIX_CHAIN_CONFIRMATIONS ?? 1,
  };
}
