import { spawn } from 'node:child_process';
import path from 'node:path';
import { anvilDevPrivateKey } from '../../src/chain/anvil.js';
import { claimAnchorer, type AnchorerClaim } from '../../src/coordinator/anchorer-lock.js';
import { ConfigError } from '../../src/shared/errors.js';
import { projectRoot } from '../../src/shared/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
const held: AnchorerClaim[] = [];
const [ownerKey, firstPoolKey, secondPoolKey] = [anvilDevPrivateKey(0), anvilDevPrivateKey(1), anvilDevPrivateKey(2)];

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});

afterEach(async () => {
  await Promise.all(held.splice(0).map((claim) => claim.release()));
});

afterAll(async () => {
  await database?.drop();
});

async function claim(preferred: `0x${string}`, options: { pool?: `0x${string}`[]; waitMs?: number; chainId?: number } = {}): Promise<AnchorerClaim> {
  const claimed = await claimAnchorer({ databaseUrl: database.url, chainId: options.chainId ?? 31337, preferred, waitMs: options.waitMs ?? 0, ...(options.pool ? { pool: options.pool } : {}) });
  held.push(claimed);
  return claimed;
}

test('an anchoring account is held by one coordinator process at a time', async () => {
  await claim(ownerKey);
  await expect(claim(ownerKey, { waitMs: 300 })).rejects.toThrow(ConfigError);
  // The same key on another chain is another account's nonce sequence: free.
  await expect(claim(ownerKey, { chainId: 1 })).resolves.toMatchObject({ privateKey: ownerKey });
});

test('on the local dev chain a second process takes the first free key of the pool', async () => {
  const first = await claim(ownerKey, { pool: [firstPoolKey, secondPoolKey] });
  const second = await claim(ownerKey, { pool: [firstPoolKey, secondPoolKey] });
  const third = await claim(ownerKey, { pool: [firstPoolKey, secondPoolKey] });
  expect([first.privateKey, second.privateKey, third.privateKey]).toEqual([ownerKey, firstPoolKey, secondPoolKey]);
  await expect(claim(ownerKey, { pool: [firstPoolKey, secondPoolKey] })).rejects.toThrow('every local anchoring account is held');
  await second.release();
  expect((await claim(ownerKey, { pool: [firstPoolKey, secondPoolKey] })).privateKey).toBe(firstPoolKey);
});

test('a holder killed with SIGKILL frees its account (the claim ends with its database session)', async () => {
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test', 'fixtures', 'claim-anchorer.ts'), database.url, '31337', ownerKey], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('claimed') && resolve());
    child.once('exit', (code) => reject(new Error(`claimer exited (${code}) before claiming`)));
  });
  await expect(claim(ownerKey)).rejects.toThrow('is held by another coordinator process');
  child.kill('SIGKILL');
  await expect(claim(ownerKey, { waitMs: 10_000 })).resolves.toMatchObject({ privateKey: ownerKey });
});
