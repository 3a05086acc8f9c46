import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/shared/paths.js';

/** Writes a standalone bench's results to bench/results/<name>-<startedAt>.json and returns the path. */
export function writeBenchResults(name: string, startedAt: string, body: Record<string, unknown>): string {
  const dir = path.join(projectRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ startedAt, ...body }, null, 2)}\n`);
  return file;
}

/** Runs a bench's main: exit 0 when it finishes, 1 with the error when it fails. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
