import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/shared/paths.js';

export interface OperatorProcess {
  child: ChildProcess;
  /** Resolves with the node id from the "operator <nodeId> ready on task queue …" line. */
  ready: Promise<{ nodeId: string; loadMs: number; line: string }>;
  exited: Promise<number | null>;
  stdout(): string;
  /** pino JSON lines from stderr. */
  logs(): Array<Record<string, unknown> & { msg?: string }>;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const READY_RE = /^operator (node-[0-9a-f]{40}) ready on task queue \S+ .*load (\d+) ms/m;

/** Spawns src/operator/main.ts as a real process (outside jest's VM: onnxruntime needs a plain Node realm). */
export function spawnOperator(env: Record<string, string>, entry = path.join(projectRoot, 'src', 'operator', 'main.ts')): OperatorProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PARALLELIX_DEVICE: 'cpu', ...env };
  delete childEnv.NODE_OPTIONS; // jest's --experimental-vm-modules is not wanted in the child
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: projectRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<{ nodeId: string; loadMs: number; line: string }>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = READY_RE.exec(out);
      if (match) resolve({ nodeId: match[1]!, loadMs: Number(match[2]), line: match[0] });
    });
    void exited.then((code) => reject(new Error(`operator exited (${code}) before ready:\n${err.slice(-4000)}`)));
  });
  ready.catch(() => undefined);
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return {
    child,
    ready,
    exited,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      err
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown> & { msg?: string }),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
