import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { getFreePort, isPortOpen } from '../shared/ports.js';
import { spawnService, type ServiceProcess } from '../shared/service-process.js';
import { ProvisioningError } from '../shared/errors.js';
import { stateDir } from '../shared/paths.js';
import { ensureDatabase } from '../db/migrate.js';
import { withDatabase } from '../db/pg-url.js';
import { postgresBinaries } from './postgres-binaries.js';
import { placeForPostgresUser, type OsUser } from './postgres-os-user.js';

/** The superuser of an embedded cluster. */
const SUPERUSER = 'postgres';

export interface EmbeddedPostgresOptions {
  /** Folder of this server: `data/` (the cluster) and `password` (the superuser's, mode 0600). Created if missing. */
  dir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Where the server's own log goes. */
  logFile: string;
  /** false: no fsync (throwaway test data; faster). Default true. */
  durable?: boolean;
  report?: (message: string) => void;
  readyTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  port: number;
  dir: string;
  /** `server_version` as the server reports it, e.g. "18.4". */
  version: string;
  /** True when this start created the cluster (initdb). */
  created: boolean;
  /** Superuser URL of `database` (default `postgres`) on this server. */
  url(database?: string): string;
  /** Creates `name` if it does not exist yet (for the coordinator, or another service sharing the server); its URL. */
  database(name: string): Promise<string>;
  /** The server under the orphan guard (its pid is the guard's). */
  process: ServiceProcess;
  /** Fast shutdown: open transactions are rolled back, data is kept. */
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL server from the binaries shipped on npm (src/devstack/postgres-binaries.ts), owned by this process:
 * the cluster is created on first use (`initdb`, password authentication with a generated superuser password),
 * the server listens on 127.0.0.1 only (no Unix socket), and it runs under the orphan guard, so it stops with the
 * process that started it, even one killed by SIGKILL. Any number of connections, from any process.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const report = options.report ?? (() => undefined);
  // A taken port is refused before initdb, which takes seconds: nothing is created for a server that cannot start.
  const port = options.port === 0 ? await getFreePort() : options.port;
  if (await isPortOpen(port)) {
    throw new ProvisioningError(`Port ${port} (embedded PostgreSQL) is already in use`, {
      details: 'Another stack or PostgreSQL server listens there. Choose another port with PARALLELIX_POSTGRES_PORT, or set DATABASE_URL to use that server.',
    });
  }
  const dir = path.resolve(options.dir);
  const passwordFile = path.join(dir, 'password');
  mkdirSync(dir, { recursive: true });
  let binaries = await postgresBinaries();
  let dataDir = path.join(dir, 'data');
  let user: OsUser | undefined;
  if (process.getuid?.() === 0) ({ user, binaries, dataDir } = placeForPostgresUser(binaries, dataDir, report));

  const created = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (created) initialise({ initdb: binaries.initdb, dataDir, passwordFile, durable: options.durable ?? true, user });
  if (!existsSync(passwordFile)) {
    throw new ProvisioningError(`The embedded PostgreSQL in ${dir} has no password file`, {
      details: `${passwordFile} is missing, so nothing can log in. Delete ${dir} to start with an empty database.`,
    });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();

  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const logStart = existsSync(options.logFile) ? statSync(options.logFile).size : 0;
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  if (options.durable === false) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const service = spawnService({
    name: 'postgres',
    command: binaries.postgres,
    args,
    logFile: options.logFile,
    cwd: path.dirname(dataDir),
    stopSignal: 'SIGINT', // fast shutdown: does not wait for other processes' clients to disconnect
    ...(user ? { user } : {}),
    // Only what the server needs (it may run as another OS user): no secrets from our environment. The state
    // folder marks it as this stack's process, as it does the other services.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC', PARALLELIX_STATE_DIR: stateDir() },
  });
  const url = (database = 'postgres'): string =>
    withDatabase(`postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres?sslmode=disable`, database);
  let version: string;
  try {
    version = await waitUntilReady(url(), service, options.logFile, logStart, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await service.stop();
    throw error;
  }
  return {
    port,
    dir,
    version,
    created,
    url,
    async database(name) {
      const databaseUrl = url(name);
      await ensureDatabase(databaseUrl);
      return databaseUrl;
    },
    process: service,
    stop: () => service.stop(30_000),
  };
}

/** initdb: a new cluster in `dataDir` with password (SCRAM) authentication and a generated superuser password. */
function initialise(options: { initdb: string; dataDir: string; passwordFile: string; durable: boolean; user: OsUser | undefined }): void {
  const { dataDir, passwordFile, user } = options;
  // A folder without PG_VERSION is an interrupted initdb of ours: start it again.
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { mode: 0o700 });
  const password = randomBytes(24).toString('base64url');
  // Kept before the cluster exists, so that no cluster is ever left without its password.
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const pwFile = path.join(path.dirname(dataDir), `initdb-password-${process.pid}`);
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (user) {
    chownSync(dataDir, user.uid, user.gid);
    chownSync(pwFile, user.uid, user.gid);
  }
  try {
    const args = ['-D', dataDir, '-U', SUPERUSER, '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C', '--no-instructions'];
    if (!options.durable) args.push('--no-sync');
    const result = spawnSync(options.initdb, args, {
      encoding: 'utf8',
      cwd: path.dirname(dataDir),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    if (result.status !== 0) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new ProvisioningError(`initdb could not create the embedded PostgreSQL cluster in ${dataDir}`, {
        details: (result.stderr || result.error?.message || `exit ${result.status ?? result.signal}`).trim(),
      });
    }
  } finally {
    rmSync(pwFile, { force: true });
  }
}

async function waitUntilReady(url: string, service: ServiceProcess, logFile: string, logStart: number, timeoutMs: number): Promise<string> {
  let exitedWith: number | NodeJS.Signals | undefined;
  void service.exited.then((code) => (exitedWith = code));
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) {
      throw new ProvisioningError(`The embedded PostgreSQL exited during start-up (${exitedWith})`, { details: `${serverErrors(logFile, logStart)} (see ${logFile})` });
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return rows[0]?.server_version ?? 'unknown';
    } catch (error) {
      lastError = error;
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new ProvisioningError(`The embedded PostgreSQL did not accept connections within ${timeoutMs} ms`, {
    details: `${String(lastError)}; ${serverErrors(logFile, logStart)} (see ${logFile})`,
    cause: lastError,
  });
}

/** FATAL/PANIC/ERROR lines the server logged since `from`, the reason it would not start. */
function serverErrors(logFile: string, from: number): string {
  try {
    const lines = readFileSync(logFile).subarray(from).toString('utf8').split('\n');
    const errors = lines.filter((line) => /\b(FATAL|PANIC|ERROR)\b/.test(line));
    return (errors.length > 0 ? errors : lines.slice(-5)).join(' ').trim() || 'no output';
  } catch {
    return 'no log';
  }
}
