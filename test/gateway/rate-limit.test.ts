import { createApiKey } from '../../src/gateway/api-keys.js';
import { rateLimitHeaders, takeRequest } from '../../src/gateway/rate-limit.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let first: PrismaClient;
let second: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase();
  // Two clients with their own pools stand for two gateway processes: the state they share is the database's.
  first = createPrismaClient(database.url, { maxConnections: 4 });
  second = createPrismaClient(database.url, { maxConnections: 4 });
});

afterAll(async () => {
  await first?.$disconnect();
  await second?.$disconnect();
  await database?.drop();
});

test('a full budget allows exactly the limit at once, across two database clients, then refuses with a retry time', async () => {
  const { id } = await createApiKey(first, 'limited-user', 'rl');
  const policy = { requestsPerMinute: 10 };
  const decisions = await Promise.all(Array.from({ length: 16 }, (_, i) => takeRequest(i % 2 ? first : second, id, policy)));
  const allowed = decisions.filter((d) => d.allowed);
  expect(allowed).toHaveLength(10);
  expect(allowed.map((d) => d.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const refused = decisions.find((d) => !d.allowed)!;
  expect(refused).toMatchObject({ limit: 10, remaining: 0 });
  // One request every 6 s refills: the next one is at most 6 s away; the whole budget at most a minute.
  expect(refused.retryAfterMs).toBeGreaterThan(0);
  expect(refused.retryAfterMs).toBeLessThanOrEqual(6_000);
  expect(refused.resetMs).toBeLessThanOrEqual(60_000);
  expect(rateLimitHeaders(refused)).toMatchObject({ 'x-ratelimit-limit-requests': '10', 'x-ratelimit-remaining-requests': '0', 'retry-after': expect.stringMatching(/^[1-6]$/) });
});

test('the budget refills with time, and keys do not share it', async () => {
  const a = await createApiKey(first, 'refill-user', 'a');
  const b = await createApiKey(first, 'refill-user', 'b');
  const policy = { requestsPerMinute: 10 }; // one request per 6 s
  const burst = await Promise.all(Array.from({ length: 10 }, () => takeRequest(first, a.id, policy)));
  expect(burst.every((d) => d.allowed)).toBe(true);
  expect((await takeRequest(first, a.id, policy)).allowed).toBe(false);
  expect((await takeRequest(second, b.id, policy)).allowed).toBe(true);
  // 6 s pass for key a (its state moved back rather than waiting, so a loaded machine cannot blur it): one more request.
  await first.$executeRaw`UPDATE "ApiKeyRateLimit" SET "tat" = "tat" - interval '6 seconds' WHERE "apiKeyId" = ${a.id}::uuid`;
  expect((await takeRequest(second, a.id, policy)).allowed).toBe(true);
  expect((await takeRequest(second, a.id, policy)).allowed).toBe(false);
});
