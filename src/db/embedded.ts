import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ProvisioningError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { stateDir } from '../shared/paths.js';

const log = createLogger('embedded-db');

/** Default data directory of the embedded database. */
export function defaultEmbeddedDataDir(): string {
  return path.join(stateDir(), 'pglite');
}

export interface EmbeddedDatabaseOptions {
  /** Data directory (created if missing); defaults to `stateDir()/pglite`. */
  dataDir?: string;
  /** TCP port on 127.0.0.1; 0 picks a free one (default). */
  port?: number;
  /**
   * Wire connections the server accepts (default 4). PGlite is a single Postgres session: connections
   * queue behind an open transaction, so pools must stay within this limit (see `embeddedPoolSize`).
   */
  maxConnections?: number;
}

export interface EmbeddedDatabase {
  /** postgres:// URL for adapter-pg (and src/db/migrate.ts). */
  url: string;
  dataDir: string;
  port: number;
  /** Pool size a Prisma client should use so that it and a migration run fit the connection limit. */
  poolSize: number;
  stop(): Promise<void>;
}

/**
 * Embedded PostgreSQL (PGlite, in WebAssembly) served on a local TCP port, so the coordinator uses the
 * same adapter-pg path as with a real server. A new data directory takes a few seconds to initialise.
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions = {}): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir ?? defaultEmbeddedDataDir());
  const maxConnections = options.maxConnections ?? 4;
  await mkdir(dataDir, { recursive: true });
  log.info({ dataDir }, 'starting embedded PGlite database');
  const started = Date.now();
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    throw new ProvisioningError(`Could not open the embedded database in ${dataDir}`, {
      details: error instanceof Error ? error.message : String(error),
      cause: error,
    });
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: options.port ?? 0, maxConnections });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw new ProvisioningError(`Could not serve the embedded database on port ${options.port ?? 0}`, {
      details: error instanceof Error ? error.message : String(error),
      cause: error,
    });
  }
  const port = Number(server.getServerConn().split(':').pop());
  const url = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  log.info({ port, ms: Date.now() - started }, `embedded database listening on 127.0.0.1:${port}`);
  let stopped = false;
  return {
    url,
    dataDir,
    port,
    poolSize: Math.max(1, maxConnections - 2),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      log.info({ dataDir }, 'embedded database stopped');
    },
  };
}
