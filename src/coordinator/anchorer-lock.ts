import { createHash } from 'node:crypto';
import pg from 'pg';
import { privateKeyToAccount } from 'viem/accounts';
import type { Address, Hex } from 'viem';
import { ConfigError } from '../shared/errors.js';

/**
 * One anchoring account per coordinator process. Each process keeps its own nonce sequence for its own account
 * (viem's nonce manager orders the sends inside the process), so several coordinators never race for one nonce:
 * a shared account would have two processes read the same pending nonce and one transaction replace or evict the
 * other. The claim is a PostgreSQL session advisory lock held on a dedicated connection for the process's life:
 * the database every coordinator shares enforces it, and it ends with the process, even on SIGKILL.
 */
export interface AnchorerClaim {
  privateKey: Hex;
  address: Address;
  /** Resolves if the lock's connection is lost (the claim can no longer be trusted). */
  lost: Promise<Error>;
  release(): Promise<void>;
}

function lockKey(chainId: number, address: Address): string {
  return createHash('sha256').update(`parallelix-anchorer:${chainId}:${address.toLowerCase()}`).digest().readBigInt64BE(0).toString();
}

async function tryLock(databaseUrl: string, chainId: number, privateKey: Hex): Promise<AnchorerClaim | null> {
  const address = privateKeyToAccount(privateKey).address;
  const client = new pg.Client({ connectionString: databaseUrl, keepAlive: true, application_name: `parallelix-anchorer-${address}` });
  await client.connect();
  let lostWith: ((error: Error) => void) | undefined;
  const lost = new Promise<Error>((resolve) => (lostWith = resolve));
  let released = false;
  client.on('error', (error) => lostWith?.(error));
  client.on('end', () => {
    if (!released) lostWith?.(new Error('the anchorer lock connection closed'));
  });
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [lockKey(chainId, address)]);
    if (!rows[0]?.locked) {
      released = true;
      await client.end();
      return null;
    }
  } catch (error) {
    released = true;
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    privateKey,
    address,
    lost,
    async release() {
      if (released) return;
      released = true;
      await client.end().catch(() => undefined); // closing the session releases the lock
    },
  };
}

/**
 * Claims the first anchoring key no other coordinator process holds: `preferred`, else (local dev chain only) the
 * first free key of `pool`. A busy key is tried again for `waitMs` (a killed holder's session takes a moment to
 * end). Throws ConfigError when every key stays busy.
 */
export async function claimAnchorer(options: {
  databaseUrl: string;
  chainId: number;
  preferred: Hex;
  pool?: readonly Hex[];
  waitMs?: number;
}): Promise<AnchorerClaim> {
  const candidates = [options.preferred, ...(options.pool ?? []).filter((key) => key !== options.preferred)];
  const deadline = Date.now() + (options.waitMs ?? 5_000);
  for (;;) {
    for (const key of candidates) {
      const claim = await tryLock(options.databaseUrl, options.chainId, key);
      if (claim) return claim;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const address = privateKeyToAccount(options.preferred).address;
  throw new ConfigError(
    options.pool?.length
      ? `every local anchoring account is held by another coordinator process (${candidates.length} accounts)`
      : `anchoring account ${address} is held by another coordinator process`,
    {
      details:
        'Each coordinator process anchors from its own account (one nonce sequence per account): give this one its own PARALLELIX_CHAIN_PRIVATE_KEY and authorise it with `parallelix registry add-anchorer <address>`.',
    },
  );
}
