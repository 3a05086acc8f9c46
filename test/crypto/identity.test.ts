import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  createIdentity,
  loadOrCreateIdentity,
  nodeIdFromSignPublicKey,
  publicIdentity,
  signDetached,
  verifyDetached,
} from '../../src/crypto/identity.js';
import { toHex } from '../../src/crypto/encoding.js';
import { KeyFileInvalidError, KeyFilePermissionsError } from '../../src/crypto/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parallelix-identity-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('node identity', () => {
  test('nodeId derives from the signing public key', () => {
    const id = createIdentity();
    expect(id.nodeId).toBe('node-' + toHex(sha256(id.sign.publicKey)).slice(0, 40));
    expect(nodeIdFromSignPublicKey(id.sign.publicKey)).toBe(id.nodeId);
    const pub = publicIdentity(id);
    expect(Object.keys(pub).sort()).toEqual(['boxPublicKey', 'nodeId', 'signPublicKey']);
    expect(JSON.stringify(pub)).not.toContain(Buffer.from(id.sign.secretKey).toString('base64'));
  });

  test('key file is created with mode 0600 and reloads to the same identity', async () => {
    const keyFile = path.join(dir, 'nested', 'node-key.json');
    const created = await loadOrCreateIdentity(keyFile);
    expect((await fs.stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(keyFile))).mode & 0o777).toBe(0o700);
    const loaded = await loadOrCreateIdentity(keyFile);
    expect(loaded.nodeId).toBe(created.nodeId);
    expect(Array.from(loaded.box.secretKey)).toEqual(Array.from(created.box.secretKey));
    expect((await fs.readdir(path.dirname(keyFile))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('concurrent first starts agree on one identity', async () => {
    const keyFile = path.join(dir, 'node-key.json');
    const ids = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateIdentity(keyFile)));
    expect(new Set(ids.map((i) => i.nodeId)).size).toBe(1);
  });

  test('a key file readable by others is refused', async () => {
    const keyFile = path.join(dir, 'node-key.json');
    await loadOrCreateIdentity(keyFile);
    await fs.chmod(keyFile, 0o644);
    await expect(loadOrCreateIdentity(keyFile)).rejects.toBeInstanceOf(KeyFilePermissionsError);
    await fs.chmod(keyFile, 0o600);
    await expect(loadOrCreateIdentity(keyFile)).resolves.toBeDefined();
  });

  test('a key file with inconsistent keys is refused', async () => {
    const keyFile = path.join(dir, 'node-key.json');
    await loadOrCreateIdentity(keyFile);
    const json = JSON.parse(await fs.readFile(keyFile, 'utf8')) as { nodeId: string; box: { publicKey: string } };
    json.box.publicKey = publicIdentity(createIdentity()).boxPublicKey;
    await fs.writeFile(keyFile, JSON.stringify(json), { mode: 0o600 });
    await expect(loadOrCreateIdentity(keyFile)).rejects.toBeInstanceOf(KeyFileInvalidError);
    await fs.writeFile(keyFile, 'not json', { mode: 0o600 });
    await expect(loadOrCreateIdentity(keyFile)).rejects.toBeInstanceOf(KeyFileInvalidError);
  });

  test('detached signatures', () => {
    const id = createIdentity();
    const sig = signDetached('hello', id.sign.secretKey);
    expect(verifyDetached('hello', sig, id.sign.publicKey)).toBe(true);
    expect(verifyDetached(new TextEncoder().encode('hello'), sig, publicIdentity(id).signPublicKey)).toBe(true);
    expect(verifyDetached('hellO', sig, id.sign.publicKey)).toBe(false);
    expect(verifyDetached('hello', sig, createIdentity().sign.publicKey)).toBe(false);
    expect(verifyDetached('hello', 'AAAA', id.sign.publicKey)).toBe(false);
  });
});
