import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ProvisioningError } from '../shared/errors.js';

export type ProgressReporter = (message: string) => void;

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The Go toolchain: `go` on PATH, else the default install location. */
export function findGo(): string | undefined {
  return onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

export interface GoInstallTarget {
  /** Package path, e.g. `go.temporal.io/server/cmd/server`. */
  packagePath: string;
  /** Where the binary goes (its folder is created). */
  target: string;
}

/**
 * `go install pkg@version` for one or more packages of one module version into the per-user cache, niced (the
 * cores are shared), with a progress line every 15 s. Each binary is built into a private folder and renamed into
 * place, so two processes building at once never see a half-written file.
 */
export async function goInstall(options: {
  /** What is being built, for progress lines ("Temporal CLI v1.5.1"). */
  label: string;
  version: string;
  targets: GoInstallTarget[];
  report: ProgressReporter;
  /** Why Go is needed, for the error when it is missing. */
  withoutGo: string;
}): Promise<void> {
  const go = findGo();
  if (!go) throw new ProvisioningError(`${options.label} is not built and Go is not installed to build it.`, { details: options.withoutGo });
  const started = Date.now();
  options.report('first build only: downloads missing Go modules and compiles (minutes on 2 shared cores)');
  for (const { packagePath, target } of options.targets) {
    mkdirSync(path.dirname(target), { recursive: true });
    const gobin = mkdtempSync(path.join(path.dirname(target), 'build-'));
    const ref = `${packagePath}@${options.version}`;
    options.report(`building ${options.label}: \`go install ${ref}\` into ${path.dirname(target)}`);
    try {
      await runGoInstall(go, ref, gobin, options.label, options.report);
      const built = path.join(gobin, path.basename(packagePath));
      if (!existsSync(built)) throw new ProvisioningError(`go install ${ref} produced no ${path.basename(packagePath)} binary.`);
      renameSync(built, target);
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  }
  options.report(`built ${options.label} in ${Math.round((Date.now() - started) / 1000)}s`);
}

async function runGoInstall(go: string, ref: string, gobin: string, label: string, report: ProgressReporter): Promise<void> {
  const started = Date.now();
  let downloads = 0;
  let lastLine = '';
  // nice: a long compile must not starve services and tests sharing the machine.
  const nice = onPath('nice');
  const [command, args] = nice ? [nice, ['-n', '10', go, 'install', ref]] : [go, ['install', ref]];
  const child = spawn(command, args, {
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
    report(`still building ${label}: ${seconds}s, ${downloads} modules downloaded`);
  }, 15_000);
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  }).finally(() => clearInterval(ticker));
  if (exitCode !== 0) throw new ProvisioningError(`go install ${ref} failed (exit ${exitCode}).`, { details: lastLine });
}
