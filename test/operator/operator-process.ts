import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OperatorReadyFile } from '../../src/operator/operator.js';
import { OPERATOR_NODE_FLAGS } from '../../src/operator/node-flags.js';
import { projectRoot } from '../../src/shared/paths.js';
import { waitForReadyFile } from '../../src/shared/ready-file.js';

export interface OperatorProcess {
  child: ChildProcess;
  /** Resolves with what the operator wrote to its ready file (PARALLELIX_OPERATOR_READY_FILE) once it polls. */
  ready: Promise<OperatorReadyFile>;
  exited: Promise<number | null>;
  stdout(): string;
  /** pino JSON lines from stderr. */
  logs(): Array<Record<string, unknown> & { msg?: string }>;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns `parallelix operator` (or another entry script, e.g. test/fixtures/faulty-operator.ts) as a real process
 * (outside jest's VM: onnxruntime needs a plain Node realm).
 */
export function spawnOperator(env: Record<string, string>, entry?: string, nodeArgs: string[] = []): OperatorProcess {
  const readyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'px-operator-ready-')), 'ready.json');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PARALLELIX_DEVICE: 'cpu', ...env, PARALLELIX_OPERATOR_READY_FILE: readyFile };
  delete childEnv.NODE_OPTIONS; // jest's --experimental-vm-modules is not wanted in the child
  const args = entry ? [entry] : [path.join(projectRoot, 'src', 'cli', 'main.ts'), 'operator'];
  const child = spawn(process.execPath, [...OPERATOR_NODE_FLAGS, ...nodeArgs, '--import', 'tsx', ...args], {
    cwd: projectRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exitCode = code))));
  const ready = waitForReadyFile<OperatorReadyFile>(readyFile, { ended: () => exitCode !== undefined, deadline: Infinity }).then((info) => {
    if (!info) throw new Error(`operator exited (${exitCode}) before ready:\n${err.slice(-4000)}`);
    return info;
  });
  ready.catch(() => undefined);
  void Promise.allSettled([ready, exited]).then(() => rmSync(path.dirname(readyFile), { recursive: true, force: true }));
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
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
