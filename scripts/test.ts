/**
 * `npm test`: provisions what the suite needs (Temporal CLI, Temporal server + SQL tool, generated artifacts;
 * PostgreSQL is jest's global setup: PARALLELIX_TEST_PG_URL, else an embedded server for the run), type-checks,
 * then runs jest as native ES modules and prints one closing "N passed, N failed" line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureServerBinaries } from '../src/devstack/cluster/server-binaries.js';
import { ensureTemporalCli } from '../src/devstack/temporal-cli.js';
import { projectRoot } from '../src/shared/paths.js';

const say = (message: string): void => console.log(`[test] ${message}`);

/** An external server named by PARALLELIX_TEST_PG_URL must answer before the suite starts. */
async function checkExternalPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>('select version()');
    say(`PostgreSQL from PARALLELIX_TEST_PG_URL reachable: ${rows[0]?.version.split(',')[0] ?? 'unknown'}`);
  } catch (error) {
    console.error(`[test] PostgreSQL is not reachable at ${url.replace(/:[^:@/]+@/, ':***@')}: ${String(error)}`);
    console.error('[test] Start it, point PARALLELIX_TEST_PG_URL at a server where tests may create databases, or unset it to use an embedded server.');
    process.exit(2);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function run(label: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  say(label);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: projectRoot, env });
  return result.status ?? 1;
}

const started = Date.now();
const cli = await ensureTemporalCli(say);
if (!cli) {
  console.error('[test] no Temporal CLI and no Go to build one: install Go, or put `temporal` on PATH / in PARALLELIX_TEMPORAL_CLI');
  process.exit(2);
}
// The cluster tests run the Temporal server itself: build it (and its SQL schema tool) now, with progress, rather
// than inside a test's time limit. The per-user cache makes this instant after the first build.
try {
  await ensureServerBinaries(say);
} catch (error) {
  console.error(`[test] ${String(error instanceof Error ? error.message : error)}`);
  process.exit(2);
}
const externalPostgres = process.env.PARALLELIX_TEST_PG_URL;
if (externalPostgres) await checkExternalPostgres(externalPostgres);
else say('PostgreSQL: jest starts an embedded server for this run (set PARALLELIX_TEST_PG_URL to use another server)');
if (run('generating Prisma client and contract artifacts (if missing)', process.execPath, ['scripts/postinstall.mjs']) !== 0) process.exit(1);
if (run('type-checking (tsc --noEmit)', process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit']) !== 0) {
  console.error('[test] type errors: fix them before running the suite');
  process.exit(1);
}
const reportDir = mkdtempSync(path.join(tmpdir(), 'parallelix-jest-'));
const reportFile = path.join(reportDir, 'report.json');
const jestStatus = run(
  'running jest',
  process.execPath,
  ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', '--json', `--outputFile=${reportFile}`, ...process.argv.slice(2)],
  { ...process.env, PARALLELIX_TEMPORAL_CLI: cli.path, NODE_NO_WARNINGS: '1' },
);
let summary = '';
try {
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number };
  summary = `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`;
} catch {
  summary = '0 passed, 1 failed';
}
rmSync(reportDir, { recursive: true, force: true });
say(`finished in ${Math.round((Date.now() - started) / 1000)}s`);
console.log(`Tests: ${summary}`);
process.exit(jestStatus);
