// jest global teardown: stops the embedded PostgreSQL that test/global-setup.mjs started (nothing for an external one).
export default async function globalTeardown() {
  await globalThis.parallelixTestPostgres?.stop();
  globalThis.parallelixTestPostgres = undefined;
}
