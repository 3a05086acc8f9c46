import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';
import { InvalidInputError } from '../shared/errors.js';

/** Prefix of every gateway key, so leaked keys are recognisable by secret scanners. */
export const API_KEY_PREFIX = 'pxk_';

const KEY_PATTERN = /^pxk_[A-Za-z0-9_-]{43}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SHA-256 of the key, lowercase hex: the only form the database keeps. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface CreatedApiKey {
  /** The key itself (`pxk_` + 32 random bytes, base64url). Shown once: only its hash is stored. */
  key: string;
  id: string;
}

/**
 * Issues a key that spends the credits of `userExternalId`. The credit account is created (empty) when it
 * does not exist yet, so keys can be handed out before the first top-up.
 */
export async function createApiKey(db: PrismaClient, userExternalId: string, label: string): Promise<CreatedApiKey> {
  if (!userExternalId || userExternalId.length > 200) throw new InvalidInputError('user id must be 1 to 200 characters');
  if (label.length > 200) throw new InvalidInputError('label must be at most 200 characters');
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const user = await db.user.upsert({ where: { externalId: userExternalId }, create: { externalId: userExternalId }, update: {}, select: { id: true } });
  const row = await db.apiKey.create({ data: { keyHash: hashApiKey(key), userId: user.id, label }, select: { id: true } });
  return { key, id: row.id };
}

export interface ResolvedApiKey {
  keyId: string;
  /** The external id of the user whose credits the key spends. */
  userId: string;
}

/** The live key's id and user; null for a malformed, unknown or revoked key. */
export async function resolveApiKey(db: PrismaClient, key: string): Promise<ResolvedApiKey | null> {
  if (!KEY_PATTERN.test(key)) return null;
  const row = await db.apiKey.findUnique({
    where: { keyHash: hashApiKey(key) },
    select: { id: true, revokedAt: true, user: { select: { externalId: true } } },
  });
  if (!row || row.revokedAt) return null;
  return { keyId: row.id, userId: row.user.externalId };
}

/** Revokes a key by id (idempotent: the first revocation time is kept). Returns false for an unknown id. */
export async function revokeApiKey(db: PrismaClient, id: string): Promise<boolean> {
  if (!UUID_PATTERN.test(id)) return false;
  const updated = await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  if (updated.count > 0) return true;
  return (await db.apiKey.count({ where: { id } })) > 0;
}
