import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ProvisioningError } from '../shared/errors.js';
import { userCacheDir } from '../shared/paths.js';
import { findGo, goInstall, isExecutable, onPath, type ProgressReporter } from './go-install.js';
import { loadDevServerConfig } from '../temporal/dev-server-config.js';

export type TemporalCliSource = 'env' | 'path' | 'cache' | 'built';

export interface TemporalCli {
  path: string;
  source: TemporalCliSource;
}

export type { ProgressReporter } from './go-install.js';

/** Where a `go install` of the pinned CLI version is cached, per user and outside any clone. */
export function cachedTemporalCliPath(version = loadDevServerConfig().cliVersion): string {
  return path.join(userCacheDir(), 'temporal-cli', version.replace(/^v/, ''), 'temporal');
}

/** The CLI without building anything: PARALLELIX_TEMPORAL_CLI, then `temporal` on PATH, then the per-user cache. */
export function findTemporalCli(): TemporalCli | undefined {
  const fromEnv = process.env.PARALLELIX_TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new ProvisioningError(`PARALLELIX_TEMPORAL_CLI points to ${fromEnv}, which is not an executable file.`);
    }
    return { path: fromEnv, source: 'env' };
  }
  const fromPath = onPath('temporal');
  if (fromPath) return { path: fromPath, source: 'path' };
  const cached = cachedTemporalCliPath();
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

/**
 * Builds the pinned Temporal CLI with `go install` into the per-user cache. The first build downloads the
 * module graph (~1.8 GB) and compiles for several minutes; progress is reported every 15 s.
 */
export async function buildTemporalCli(report: ProgressReporter): Promise<TemporalCli> {
  const config = loadDevServerConfig();
  const target = cachedTemporalCliPath(config.cliVersion);
  await goInstall({
    label: `Temporal CLI ${config.cliVersion}`,
    version: config.cliVersion,
    targets: [{ packagePath: config.cliModule, target }],
    report,
    withoutGo: 'Install the Temporal CLI and put it on PATH, set PARALLELIX_TEMPORAL_CLI, or install Go.',
  });
  report(`Temporal CLI: ${target}`);
  return { path: target, source: 'built' };
}

/** True when a Go toolchain is available to build the CLI. */
export function goAvailable(): boolean {
  return findGo() !== undefined;
}

/**
 * Finds the CLI or builds it with Go. `undefined` when neither is possible: the caller then falls back to the
 * Temporal SDK's own download of the dev server (needs internet).
 */
export async function ensureTemporalCli(report: ProgressReporter): Promise<TemporalCli | undefined> {
  const found = findTemporalCli();
  if (found) {
    report(`Temporal CLI (${found.source}): ${found.path}`);
    return found;
  }
  if (!goAvailable()) return undefined;
  return buildTemporalCli(report);
}

/** `temporal --version`, e.g. "temporal version 0.0.0-DEV (Server 1.29.1, UI 2.42.1)". */
export function temporalCliVersion(cli: TemporalCli): string {
  const result = spawnSync(cli.path, ['--version'], { encoding: 'utf8' });
  return result.stdout.trim();
}
