/** Secret files the coordinator writes are private to its user (0600 in a 0700 folder), and stay so. */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateCodecKey } from '../../src/codec/codec-key.js';
import { loadOrCreateCodecToken } from '../../src/codec/codec-token.js';
import { loadOrCreateIdentity } from '../../src/crypto/identity.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'px-keyfiles-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (file: string): number => statSync(file).mode & 0o777;

test.each([
  ['codec key', (file: string) => loadOrCreateCodecKey(file, {}).key.toString('base64')],
  ['codec token', (file: string) => loadOrCreateCodecToken(file, {})],
])('the %s file is created 0600 in a 0700 folder, tightened back to 0600 when loosened, and reloads the same secret', (_name, load) => {
  const file = path.join(dir, 'coordinator', 'secret');
  const first = load(file);
  expect(mode(file)).toBe(0o600);
  expect(mode(path.dirname(file))).toBe(0o700);
  chmodSync(file, 0o644);
  expect(load(file)).toBe(first);
  expect(mode(file)).toBe(0o600);
});

test('the coordinator key pair file is created 0600 and refused when readable by others', async () => {
  const file = path.join(dir, 'coordinator', 'coordinator-key.json');
  const identity = await loadOrCreateIdentity(file);
  expect(mode(file)).toBe(0o600);
  chmodSync(file, 0o640);
  await expect(loadOrCreateIdentity(file)).rejects.toThrow(/permissions|0600|mode/i);
  chmodSync(file, 0o600);
  expect((await loadOrCreateIdentity(file)).nodeId).toBe(identity.nodeId);
});
