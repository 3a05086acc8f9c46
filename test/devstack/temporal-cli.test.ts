import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cachedTemporalCliPath, findTemporalCli } from '../../src/devstack/temporal-cli.js';
import { ProvisioningError } from '../../src/shared/errors.js';

const saved = { cli: process.env.PARALLELIX_TEMPORAL_CLI, path: process.env.PATH, cache: process.env.XDG_CACHE_HOME };
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'px-cli-'));
});

afterEach(() => {
  for (const [key, value] of [['PARALLELIX_TEMPORAL_CLI', saved.cli], ['PATH', saved.path], ['XDG_CACHE_HOME', saved.cache]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

function fakeExecutable(file: string): string {
  writeFileSync(file, '#!/bin/sh\necho fake\n');
  chmodSync(file, 0o755);
  return file;
}

test('PARALLELIX_TEMPORAL_CLI wins, and a non-executable one is a clear error', () => {
  process.env.PARALLELIX_TEMPORAL_CLI = fakeExecutable(path.join(dir, 'my-temporal'));
  expect(findTemporalCli()).toEqual({ path: path.join(dir, 'my-temporal'), source: 'env' });
  process.env.PARALLELIX_TEMPORAL_CLI = path.join(dir, 'missing');
  expect(() => findTemporalCli()).toThrow(ProvisioningError);
});

test('then `temporal` on PATH, then the per-user cache, else nothing', () => {
  delete process.env.PARALLELIX_TEMPORAL_CLI;
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
  process.env.PATH = path.join(dir, 'bin');
  expect(findTemporalCli()).toBeUndefined();

  const cached = cachedTemporalCliPath();
  expect(cached.startsWith(path.join(dir, 'cache', 'parallelix', 'temporal-cli', '1.5.1'))).toBe(true);
  mkdirSync(path.dirname(cached), { recursive: true });
  fakeExecutable(cached);
  expect(findTemporalCli()).toEqual({ path: cached, source: 'cache' });

  mkdirSync(path.join(dir, 'bin'));
  fakeExecutable(path.join(dir, 'bin', 'temporal'));
  expect(findTemporalCli()).toEqual({ path: path.join(dir, 'bin', 'temporal'), source: 'path' });
});
