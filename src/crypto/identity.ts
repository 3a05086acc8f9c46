import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, fromBase64, toBase64, toHex, utf8Encode } from './encoding.js';
import { KeyFileInvalidError, KeyFilePermissionsError } from './errors.js';
import { boxPublicKeyOf, signDetachedBytes, verifyDetachedBytes } from './curve25519.js';

/**
 * A node's (or the coordinator's) long-lived keys:
 * - `box`: X25519 key pair; envelopes are sealed to its public key.
 * - `sign`: Ed25519 key pair; signs PoEs and announcements.
 * - `nodeId` = "node-" + first 20 bytes (40 hex chars) of SHA-256(sign.publicKey), so a node id
 *   can be checked against the key that signs for it.
 */
export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface NodeIdentity {
  nodeId: string;
  box: KeyPair;
  sign: KeyPair;
}

/** What a node publishes: keys as base64. */
export interface PublicIdentity {
  nodeId: string;
  boxPublicKey: string;
  signPublicKey: string;
}

export const NODE_ID_PREFIX = 'node-';
const NODE_ID_RE = /^node-[0-9a-f]{40}$/;
const KEY_FILE_VERSION = 1;

export function nodeIdFromSignPublicKey(signPublicKey: Uint8Array): string {
  return NODE_ID_PREFIX + toHex(sha256(signPublicKey).slice(0, 20));
}

export function isNodeId(value: string): boolean {
  return NODE_ID_RE.test(value);
}

export function createIdentity(): NodeIdentity {
  const box = nacl.box.keyPair();
  const sign = nacl.sign.keyPair();
  return { nodeId: nodeIdFromSignPublicKey(sign.publicKey), box, sign };
}

export function publicIdentity(identity: NodeIdentity): PublicIdentity {
  return {
    nodeId: identity.nodeId,
    boxPublicKey: toBase64(identity.box.publicKey),
    signPublicKey: toBase64(identity.sign.publicKey),
  };
}

function toMessageBytes(message: Uint8Array | string): Uint8Array {
  return typeof message === 'string' ? utf8Encode(message) : message;
}

/** Ed25519 detached signature, base64. */
export function signDetached(message: Uint8Array | string, signSecretKey: Uint8Array): string {
  return toBase64(signDetachedBytes(toMessageBytes(message), signSecretKey));
}

/** True only for a valid signature; malformed signature or key gives false, never throws. */
export function verifyDetached(
  message: Uint8Array | string,
  signature: string,
  signPublicKey: Uint8Array | string,
): boolean {
  try {
    const sig = fromBase64(signature);
    const key = typeof signPublicKey === 'string' ? fromBase64(signPublicKey) : signPublicKey;
    return verifyDetachedBytes(toMessageBytes(message), sig, key);
  } catch {
    return false;
  }
}

interface KeyFileJson {
  version: number;
  nodeId: string;
  box: { publicKey: string; secretKey: string };
  sign: { publicKey: string; secretKey: string };
  createdAt: string;
}

function serialiseIdentity(identity: NodeIdentity): string {
  const json: KeyFileJson = {
    version: KEY_FILE_VERSION,
    nodeId: identity.nodeId,
    box: { publicKey: toBase64(identity.box.publicKey), secretKey: toBase64(identity.box.secretKey) },
    sign: { publicKey: toBase64(identity.sign.publicKey), secretKey: toBase64(identity.sign.secretKey) },
    createdAt: new Date().toISOString(),
  };
  return JSON.stringify(json, null, 2) + '\n';
}

/** Parses a key file and checks every key against the others (public keys derive from secret keys). */
export function parseIdentity(text: string, source = 'key file'): NodeIdentity {
  const invalid = (why: string): KeyFileInvalidError => new KeyFileInvalidError(`Invalid ${source}: ${why}`);
  let json: KeyFileJson;
  try {
    json = JSON.parse(text) as KeyFileJson;
  } catch {
    throw invalid('not JSON');
  }
  if (json?.version !== KEY_FILE_VERSION) throw invalid(`unsupported version ${String(json?.version)}`);
  let box: KeyPair;
  let sign: KeyPair;
  try {
    box = { publicKey: fromBase64(json.box.publicKey), secretKey: fromBase64(json.box.secretKey) };
    sign = { publicKey: fromBase64(json.sign.publicKey), secretKey: fromBase64(json.sign.secretKey) };
  } catch {
    throw invalid('keys are not base64');
  }
  if (box.secretKey.byteLength !== nacl.box.secretKeyLength) throw invalid('box secret key length');
  if (sign.secretKey.byteLength !== nacl.sign.secretKeyLength) throw invalid('sign secret key length');
  if (!bytesEqual(boxPublicKeyOf(box.secretKey), box.publicKey)) {
    throw invalid('box public key does not match its secret key');
  }
  if (!bytesEqual(nacl.sign.keyPair.fromSecretKey(sign.secretKey).publicKey, sign.publicKey)) {
    throw invalid('sign public key does not match its secret key');
  }
  const nodeId = nodeIdFromSignPublicKey(sign.publicKey);
  if (json.nodeId !== nodeId) throw invalid('nodeId does not derive from the sign public key');
  return { nodeId, box, sign };
}

function assertPrivateMode(keyFile: string, mode: number): void {
  if (process.platform === 'win32') return;
  if ((mode & 0o077) !== 0) {
    throw new KeyFilePermissionsError(`Key file ${keyFile} is accessible by group or others`, {
      details: `mode is ${(mode & 0o777).toString(8).padStart(4, '0')}; run \`chmod 600 ${keyFile}\` if the key has not leaked, otherwise delete it to create a new identity`,
    });
  }
}

async function readIdentity(keyFile: string): Promise<NodeIdentity> {
  const stat = await fs.stat(keyFile);
  if (!stat.isFile()) throw new KeyFileInvalidError(`Key file ${keyFile} is not a regular file`);
  assertPrivateMode(keyFile, stat.mode);
  return parseIdentity(await fs.readFile(keyFile, 'utf8'), `key file ${keyFile}`);
}

/**
 * Loads the identity in `keyFile`, or creates one there (file mode 0600, folder 0700).
 * A key file readable or writable by group/others is refused (KeyFilePermissionsError), not
 * silently fixed: a key that was exposed should be judged by a person. Creation writes a
 * private temp file and hard-links it into place, so concurrent starts agree on one identity.
 */
export async function loadOrCreateIdentity(keyFile: string): Promise<NodeIdentity> {
  try {
    return await readIdentity(keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await fs.mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  const identity = createIdentity();
  const temp = `${keyFile}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.chmod(0o600); // the umask only ever narrows 0600, but make it exact
    await handle.writeFile(serialiseIdentity(identity), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(temp, keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return await readIdentity(keyFile); // another process won the race
  } finally {
    await fs.unlink(temp).catch(() => undefined);
  }
  return identity;
}
