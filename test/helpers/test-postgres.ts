import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { redactUrl } from '../../src/db/pg-url.js';
import { startEmbeddedPostgres } from '../../src/devstack/embedded-postgres.js';

export interface TestPostgres {
  /** Superuser URL of the server's `postgres` database; tests create and drop their own databases there. */
  url: string;
  /** What it is, for a progress line. */
  description: string;
  /** The embedded server's guard process (its process tree is the server), for CPU accounting; null when external. */
  pid: number | null;
  stop(): Promise<void>;
}

/**
 * The PostgreSQL server the tests use: PARALLELIX_TEST_PG_URL when set, otherwise an embedded server started here
 * on a free port with throwaway data in a temporary folder, published to this process and its children as
 * PARALLELIX_TEST_PG_URL. Nothing is assumed to be installed, and a local server on the default port is never used
 * by accident. `durable: false` (tests) turns fsync off; the bench keeps it on, as production has it.
 */
export async function provideTestPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const external = process.env.PARALLELIX_TEST_PG_URL;
  if (external) return { url: external, description: `external server at ${redactUrl(external)} (PARALLELIX_TEST_PG_URL)`, pid: null, stop: async () => undefined };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parallelix-test-pg-'));
  // As root the server runs as the `postgres` user, which must be able to enter the folder (mkdtemp makes it 0700).
  if (process.getuid?.() === 0) chmodSync(dir, 0o711);
  try {
    const server = await startEmbeddedPostgres({ dir, port: 0, logFile: path.join(dir, 'postgres.log'), durable: options.durable ?? false });
    process.env.PARALLELIX_TEST_PG_URL = server.url();
    return {
      url: server.url(),
      pid: server.process.pid,
      description: `embedded PostgreSQL ${server.version} on 127.0.0.1:${server.port} (data in ${dir}; set PARALLELIX_TEST_PG_URL to use another server)`,
      async stop() {
        delete process.env.PARALLELIX_TEST_PG_URL;
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
