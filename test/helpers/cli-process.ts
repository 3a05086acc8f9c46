import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { projectRoot } from '../../src/shared/paths.js';

export interface CliProcess {
  child: ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once the output contains `text` (or rejects on exit/timeout). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Spawns `parallelix <args>` from the sources, as a user would run it, without jest's NODE_OPTIONS. `input`, when
 * given, is written to its standard input (then closed); otherwise it has none.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, options: { input?: string; nodeArgs?: string[] } = {}): CliProcess {
  const { NODE_OPTIONS: _ignored, ...parentEnv } = process.env;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: projectRoot,
    env: { ...parentEnv, ...env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 120_000) {
      const matches = (): boolean => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
      return new Promise((resolve, reject) => {
        if (matches()) return resolve();
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${String(pattern)}; output:\n${text}`)), timeoutMs);
        const check = (): void => {
          if (matches()) finish();
        };
        const finish = (error?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        listeners.add(check);
        void exited.then((code) => {
          if (!matches()) finish(new Error(`process exited (${code}) before ${String(pattern)}; output:\n${text}`));
        });
      });
    },
  };
}

/** Runs `parallelix <args>` to completion: exit code, stdout+stderr. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, options: { input?: string } = {}): Promise<{ code: number | null; output: string }> {
  const proc = spawnCli(args, env, options);
  const code = await proc.exited;
  return { code, output: proc.output() };
}

/**
 * The JSON document that starts at the first line opening an object or array (stdout); whatever follows it (an
 * error line on stderr after a non-zero exit) is ignored.
 */
export function jsonOutput<T>(output: string): T {
  const start = output.search(/^[[{]/m);
  if (start < 0) throw new Error(`no JSON in output:\n${output}`);
  const rest = output.slice(start);
  // Try each line end after a closing bracket, shortest first: the document is the first prefix that parses.
  for (let end = rest.search(/[\]}]\s*(\n|$)/); end >= 0; ) {
    try {
      return JSON.parse(rest.slice(0, end + 1)) as T;
    } catch {
      const next = rest.slice(end + 1).search(/[\]}]\s*(\n|$)/);
      end = next < 0 ? -1 : end + 1 + next;
    }
  }
  throw new Error(`no complete JSON document in output:\n${output}`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live processes (other than this one) whose environment names `stateDir` as their PARALLELIX_STATE_DIR. */
export function processesUsingStateDir(stateDir: string): number[] {
  const needle = `PARALLELIX_STATE_DIR=${stateDir}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(needle)) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
