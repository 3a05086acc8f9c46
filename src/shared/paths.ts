import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Root of the project checkout (the folder holding package.json). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Local state (dev-server database, embedded PostgreSQL data, deployed contract address, operator keys).
 * Override with PARALLELIX_STATE_DIR; defaults to `.parallelix/` in the checkout.
 */
export function stateDir(): string {
  return path.resolve(process.env.PARALLELIX_STATE_DIR ?? path.join(projectRoot, '.parallelix'));
}

/** Per-user cache outside the clone (the Temporal CLI build lives here so fresh clones reuse it). */
export function userCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? '/tmp', '.cache');
  return path.join(base, 'parallelix');
}
