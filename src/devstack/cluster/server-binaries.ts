import path from 'node:path';
import { ProvisioningError } from '../../shared/errors.js';
import { userCacheDir } from '../../shared/paths.js';
import { goInstall, isExecutable, type ProgressReporter } from '../go-install.js';
import { loadClusterConfig, type ClusterConfig } from './cluster-config.js';

/** The Temporal server and its SQL schema tool, both of the pinned server version. */
export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  source: 'env' | 'cache' | 'built';
}

/** Where `go install` puts them, per user and outside any clone (fresh clones and CI reuse them). */
export function cachedServerBinaries(config: ClusterConfig = loadClusterConfig()): { server: string; sqlTool: string } {
  const dir = path.join(userCacheDir(), 'temporal-server', config.serverVersion.replace(/^v/, ''));
  return { server: path.join(dir, 'temporal-server'), sqlTool: path.join(dir, 'temporal-sql-tool') };
}

/** Without building: PARALLELIX_TEMPORAL_SERVER_BIN + PARALLELIX_TEMPORAL_SQL_TOOL_BIN, else the per-user cache. */
export function findServerBinaries(env: NodeJS.ProcessEnv = process.env): TemporalServerBinaries | undefined {
  const server = env.PARALLELIX_TEMPORAL_SERVER_BIN;
  const sqlTool = env.PARALLELIX_TEMPORAL_SQL_TOOL_BIN;
  if (server || sqlTool) {
    for (const [name, file] of [['PARALLELIX_TEMPORAL_SERVER_BIN', server], ['PARALLELIX_TEMPORAL_SQL_TOOL_BIN', sqlTool]] as const) {
      if (!file || !isExecutable(file)) {
        throw new ProvisioningError(`${name} ${file ? `points to ${file}, which is not an executable file` : 'is not set'}.`, {
          details: 'Set both PARALLELIX_TEMPORAL_SERVER_BIN and PARALLELIX_TEMPORAL_SQL_TOOL_BIN, or neither (the project builds them).',
        });
      }
    }
    return { server: server!, sqlTool: sqlTool!, source: 'env' };
  }
  const cached = cachedServerBinaries();
  if (isExecutable(cached.server) && isExecutable(cached.sqlTool)) return { ...cached, source: 'cache' };
  return undefined;
}

/**
 * Finds the server binaries or builds them from the Go module proxy (`go install go.temporal.io/server/cmd/server`
 * and `cmd/tools/sql` at the pinned version). The CLI's build already fetched most modules, so a first build is
 * mostly compiling: minutes, with progress every 15 s.
 */
export async function ensureServerBinaries(report: ProgressReporter): Promise<TemporalServerBinaries> {
  const found = findServerBinaries();
  if (found) {
    report(`Temporal server (${found.source}): ${found.server}`);
    return found;
  }
  const config = loadClusterConfig();
  const cached = cachedServerBinaries(config);
  const targets = [
    { packagePath: config.serverPackage, target: cached.server },
    { packagePath: config.sqlToolPackage, target: cached.sqlTool },
  ].filter((t) => !isExecutable(t.target));
  await goInstall({
    label: `Temporal server ${config.serverVersion} and its SQL schema tool`,
    version: config.serverVersion,
    targets,
    report,
    withoutGo: 'Install Go, or set PARALLELIX_TEMPORAL_SERVER_BIN and PARALLELIX_TEMPORAL_SQL_TOOL_BIN to existing binaries of that version.',
  });
  return { ...cached, source: 'built' };
}
