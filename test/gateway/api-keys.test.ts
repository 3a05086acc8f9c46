import { createHash } from 'node:crypto';
import { createApiKey, resolveApiKey, revokeApiKey } from '../../src/gateway/api-keys.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let db: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url, { maxConnections: 2 });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

test('a created key resolves to its user and only its hash is stored', async () => {
  const { key, id } = await createApiKey(db, 'alice', 'laptop');
  expect(key).toMatch(/^pxk_[A-Za-z0-9_-]{43}$/);
  expect(await resolveApiKey(db, key)).toEqual({ keyId: id, userId: 'alice' });
  const row = await db.apiKey.findUniqueOrThrow({ where: { id }, include: { user: true } });
  // Stored as SHA-256 hex of the whole key (computed here independently of the code under test).
  expect(row).toMatchObject({ keyHash: createHash('sha256').update(key).digest('hex'), label: 'laptop', revokedAt: null });
  expect(row.user.externalId).toBe('alice');
  expect(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(key.slice(4));
  // The credit account exists (empty) from the key's creation on.
  expect(row.user.balance).toBe(0n);
});

test('unknown, malformed and revoked keys resolve to null', async () => {
  const { key, id } = await createApiKey(db, 'bob', '');
  const second = await createApiKey(db, 'bob', 'ci');
  expect(second.key).not.toBe(key);
  expect(await resolveApiKey(db, `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
  expect(await resolveApiKey(db, 'sk-not-ours')).toBeNull();
  expect(await resolveApiKey(db, '')).toBeNull();
  expect(await revokeApiKey(db, id)).toBe(true);
  expect(await resolveApiKey(db, key)).toBeNull();
  expect(await revokeApiKey(db, id)).toBe(true);
  expect(await revokeApiKey(db, 'not-a-uuid')).toBe(false);
  expect(await revokeApiKey(db, '00000000-0000-4000-8000-000000000000')).toBe(false);
  expect((await resolveApiKey(db, second.key))?.userId).toBe('bob');
});
