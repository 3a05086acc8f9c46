import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../shared/errors.js';
import { readOrCreateSecretFile } from '../shared/secret-file.js';

const MIN_TOKEN_LENGTH = 16;

/**
 * The codec server's access token: PARALLELIX_CODEC_TOKEN when set, else a random token in `tokenFile`
 * (created once, mode 0600). Whoever holds it can read every payload, so it is never printed by default.
 */
export function loadOrCreateCodecToken(tokenFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.PARALLELIX_CODEC_TOKEN;
  if (fromEnv) {
    if (fromEnv.length < MIN_TOKEN_LENGTH) throw new ConfigError(`PARALLELIX_CODEC_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters`);
    return fromEnv;
  }
  const token = readOrCreateSecretFile(tokenFile, () => `${randomBytes(32).toString('base64url')}\n`).trim();
  if (token.length < MIN_TOKEN_LENGTH) throw new ConfigError(`the codec token in ${tokenFile} is shorter than ${MIN_TOKEN_LENGTH} characters`);
  return token;
}

/** Constant-time comparison of a presented token with the expected one (hashing first hides the length). */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
