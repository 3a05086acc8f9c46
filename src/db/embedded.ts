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
   * Wire connections the server accepts (default 1). PGlite is one Postgres session and its socket server
   * interleaves protocol messages of concurrent connections outside transactions (one connection's unnamed
   * prepared statement can be replaced by another's), so one process with a pool of one owns the database.
   */
  maxConnections?: number;
  /**
   * Work that needs several connections at once (the schema engine's migrations), run on a private port before
   * the database is served with `maxConnections`.
   */
  prepare?: (url: string) => Promise<void>;
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
  const maxConnections = options.maxConnections ?? 1;
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
  const serve = async (port: number, connections: number): Promise<PGLiteSocketServer> => {
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: connections });
    try {
      await server.start();
      return server;
    } catch (error) {
      await db.close();
      throw new ProvisioningError(`Could not serve the embedded database on port ${port}`, {
        details: error instanceof Error ? error.message : String(error),
        cause: error,
      });
    }
  };
  if (options.prepare) {
    const staging = await serve(0, 4);
    const stagingPort = Number(staging.getServerConn().split(':').pop());
    try {
      await options.prepare(`postgresql://postgres:postgres@127.0.0.1:${stagingPort}/postgres?sslmode=disable`);
    } catch (error) {
      await staging.stop();
      await db.close();
      throw error;
    }
    await staging.stop();
  }
  const server = await serve(options.port ?? 0, maxConnections);
  const port = Number(server.getServerConn().split(':').pop());
  const url = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  log.info({ port, ms: Date.now() - started }, `embedded database listening on 127.0.0.1:${port}`);
  let stopped = false;
  return {
    url,
    dataDir,
    port,
    poolSize: maxConnections,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      log.info({ dataDir }, 'embedded database stopped');
    },
  };
}
