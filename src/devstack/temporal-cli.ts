import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ProvisioningError } from '../shared/errors.js';
import { userCacheDir } from '../shared/paths.js';
import { loadDevServerConfig } from './temporal-config.js';

export type TemporalCliSource = 'env' | 'path' | 'cache' | 'built';

export interface TemporalCli {
  path: string;
  source: TemporalCliSource;
}

export type ProgressReporter = (message: string) => void;

/** Where a `go install` of the pinned CLI version is cached, per user and outside any clone. */
export function cachedTemporalCliPath(version = loadDevServerConfig().cliVersion): string {
  return path.join(userCacheDir(), 'temporal-cli', version.replace(/^v/, ''), 'temporal');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
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
 * module graph (~1.8 GB) and compiles for several minutes, so progress is reported every 15 s.
 */
export async function buildTemporalCli(report: ProgressReporter): Promise<TemporalCli> {
  const config = loadDevServerConfig();
  const go = onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new ProvisioningError('No Temporal CLI found and Go is not installed to build one.', {
      details: 'Install the Temporal CLI and put it on PATH, set PARALLELIX_TEMPORAL_CLI, or install Go.',
    });
  }
  const target = cachedTemporalCliPath(config.cliVersion);
  mkdirSync(path.dirname(target), { recursive: true });
  // Build into a private folder and rename: two processes building at once never see a half-written binary.
  const gobin = mkdtempSync(path.join(path.dirname(target), 'build-'));
  const moduleRef = `${config.cliModule}@${config.cliVersion}`;
  report(`building Temporal CLI ${config.cliVersion} with \`go install ${moduleRef}\` into ${path.dirname(target)}`);
  report('first build only: downloads the Go module graph and compiles (several minutes on 2 cores)');
  const started = Date.now();
  let downloads = 0;
  let lastLine = '';
  const child = spawn(go, ['install', moduleRef], {
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onOutput = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) {
      if (line.startsWith('go: downloading')) downloads += 1;
      if (line.trim()) lastLine = line.trim();
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const ticker = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    report(`still building Temporal CLI: ${seconds}s, ${downloads} modules downloaded`);
  }, 15_000);
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  }).finally(() => clearInterval(ticker));
  if (exitCode !== 0 || !existsSync(path.join(gobin, 'temporal'))) {
    rmSync(gobin, { recursive: true, force: true });
    throw new ProvisioningError(`go install ${moduleRef} failed (exit ${exitCode}).`, { details: lastLine });
  }
  renameSync(path.join(gobin, 'temporal'), target);
  rmSync(gobin, { recursive: true, force: true });
  report(`built Temporal CLI in ${Math.round((Date.now() - started) / 1000)}s: ${target}`);
  return { path: target, source: 'built' };
}

/** True when a Go toolchain is available to build the CLI. */
export function goAvailable(): boolean {
  return Boolean(onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined));
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
