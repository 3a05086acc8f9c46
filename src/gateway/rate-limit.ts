import type { PrismaClient } from '../db/client.js';

/** A key's request budget: `requestsPerMinute`, refilled continuously, with bursts up to the whole minute's worth. */
export interface RateLimitPolicy {
  requestsPerMinute: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Requests the key may still send right now. */
  remaining: number;
  /** Until the budget is full again. */
  resetMs: number;
  /** When refused: until one request is allowed again. */
  retryAfterMs: number;
}

const WINDOW_MS = 60_000;

/**
 * Takes one request from the key's budget, atomically in PostgreSQL, so every gateway process shares one limit
 * per key. GCRA (the generic cell rate algorithm, equivalent to a token bucket): the row keeps the theoretical
 * arrival time `tat` of the next request; a request is allowed when, after adding one emission interval, `tat`
 * stays within one window of now. One statement, no lock held between requests.
 */
export async function takeRequest(db: PrismaClient, apiKeyId: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
  const limit = policy.requestsPerMinute;
  const intervalMs = WINDOW_MS / limit;
  const taken = await db.$queryRaw<Array<{ aheadMs: number }>>`
    INSERT INTO "ApiKeyRateLimit" ("apiKeyId", "tat")
    VALUES (${apiKeyId}::uuid, now() + ${intervalMs}::float8 * interval '1 millisecond')
    ON CONFLICT ("apiKeyId") DO UPDATE
      SET "tat" = GREATEST("ApiKeyRateLimit"."tat", now()) + ${intervalMs}::float8 * interval '1 millisecond'
      WHERE GREATEST("ApiKeyRateLimit"."tat", now()) + ${intervalMs}::float8 * interval '1 millisecond' <= now() + ${WINDOW_MS}::float8 * interval '1 millisecond'
    RETURNING (EXTRACT(EPOCH FROM ("tat" - now())) * 1000)::float8 AS "aheadMs"`;
  if (taken[0]) {
    const aheadMs = Math.max(0, taken[0].aheadMs);
    // +1 ms: `tat` is stored to the millisecond, so it may read up to half a millisecond late.
    return { allowed: true, limit, remaining: Math.max(0, Math.floor((WINDOW_MS - aheadMs + 1) / intervalMs)), resetMs: aheadMs, retryAfterMs: 0 };
  }
  const current = await db.$queryRaw<Array<{ aheadMs: number }>>`
    SELECT (EXTRACT(EPOCH FROM ("tat" - now())) * 1000)::float8 AS "aheadMs" FROM "ApiKeyRateLimit" WHERE "apiKeyId" = ${apiKeyId}::uuid`;
  const aheadMs = Math.max(0, current[0]?.aheadMs ?? 0);
  return { allowed: false, limit, remaining: 0, resetMs: aheadMs, retryAfterMs: Math.max(1, aheadMs + intervalMs - WINDOW_MS) };
}

/** OpenAI's duration format for reset headers: `1s`, `6m0s`, `350ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const seconds = Math.ceil(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

/** The `x-ratelimit-*` headers OpenAI's clients read (requests only: tokens are bounded by credits), plus `retry-after` when refused. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': String(decision.limit),
    'x-ratelimit-remaining-requests': String(decision.remaining),
    'x-ratelimit-reset-requests': formatDuration(decision.resetMs),
    ...(decision.allowed
      ? {}
      : { 'retry-after': String(Math.ceil(decision.retryAfterMs / 1000)), 'retry-after-ms': String(Math.ceil(decision.retryAfterMs)) }),
  };
}
