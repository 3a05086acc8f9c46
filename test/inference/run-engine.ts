import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/shared/paths.js';
import type { RunnerOpResult, RunnerSpec } from './engine-runner.js';

const execFileAsync = promisify(execFile);

export interface RunnerOutput {
  pid: number;
  info: { device: string; deviceReason: string; loadMs: number; maxContextTokens: number } | null;
  loadError?: { name: string; code: string; message: string };
  results: RunnerOpResult[];
  events: string[];
  /** pino JSON lines from stderr. */
  logs: Array<Record<string, unknown> & { msg?: string }>;
}

/** Runs test/inference/engine-runner.ts in a fresh Node process (outside jest's VM sandbox). */
export async function runEngine(spec: RunnerSpec): Promise<RunnerOutput> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not wanted in the child
  const { stdout, stderr } = await execFileAsync(
    process.execPath,
    ['--import', 'tsx', path.join(projectRoot, 'test', 'inference', 'engine-runner.ts'), JSON.stringify(spec)],
    { cwd: projectRoot, env, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const logs = stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as RunnerOutput['logs'][number]);
  return { ...(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Omit<RunnerOutput, 'logs'>), logs };
}
