// jest global setup: one PostgreSQL server for the whole run (test/helpers/test-postgres.ts), where each test file
// creates its own database. Plain ES module: jest loads global hooks outside its transform, so the TypeScript helper
// is imported through tsx.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { provideTestPostgres } = await tsImport('./helpers/test-postgres.ts', import.meta.url);
  const server = await provideTestPostgres();
  globalThis.parallelixTestPostgres = server; // for test/global-teardown.mjs, in the same process
  console.log(`\n[test] PostgreSQL: ${server.description}`);
}
