import { randomBytes, createHash } from 'node:crypto';
import path from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { stateDir } from '../shared/paths.js';
import { readOrCreateSecretFile } from '../shared/secret-file.js';

export interface CodecKey {
  /** Short public id written into payload metadata so keys can rotate. */
  id: string;
  /** 32-byte AES-256-GCM key. */
  key: Buffer;
}

/** The folder of the coordinator's key files (box key pair, codec key) in a state folder: `<state>/coordinator`. */
export function coordinatorKeyDir(state: string = stateDir()): string {
  return path.join(state, 'coordinator');
}

/** The codec key file in a folder of coordinator key files (default `<state>/coordinator/codec-key`). */
export function codecKeyFile(keyDir: string = coordinatorKeyDir()): string {
  return path.join(keyDir, 'codec-key');
}

function keyFromBytes(bytes: Buffer): CodecKey {
  if (bytes.length !== 32) throw new ConfigError('the payload codec key must be 32 bytes (base64 in PARALLELIX_CODEC_KEY)');
  return { id: createHash('sha256').update(bytes).digest('hex').slice(0, 16), key: bytes };
}

/**
 * The coordinator's payload encryption key: PARALLELIX_CODEC_KEY (base64, 32 bytes) when set, else a key
 * file created once (mode 0600; concurrent first starts agree on one key). Every coordinator process, the platform's
 * clients and the codec server must hold the same key. Operators never hold it.
 */
export function loadOrCreateCodecKey(keyFile: string, env: NodeJS.ProcessEnv = process.env): CodecKey {
  const fromEnv = env.PARALLELIX_CODEC_KEY;
  if (fromEnv) return keyFromBytes(Buffer.from(fromEnv, 'base64'));
  const text = readOrCreateSecretFile(keyFile, () => randomBytes(32).toString('base64'));
  return keyFromBytes(Buffer.from(text.trim(), 'base64'));
}
