import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';

/**
 * Runs a service under a small shell that stops it when its stdin pipe from us reaches EOF, which happens whenever
 * this Node process goes away, even by SIGKILL: a service never outlives the process that started it. Arguments:
 * the name of the signal that stops the service (TERM, INT, …), then its command line.
 */
const ORPHAN_GUARD_SCRIPT = `
sig=$1; shift
exec 3<&0
"$@" </dev/null &
child=$!
( while read -r _ <&3; do :; done; kill -"$sig" "$child" 2>/dev/null ) &
watcher=$!
trap 'kill -"$sig" "$child" 2>/dev/null' TERM INT HUP
while :; do
  wait "$child"; rc=$?
  kill -0 "$child" 2>/dev/null || break
done
kill "$watcher" 2>/dev/null
exit "$rc"
`;

/** A long-running child process the stack owns: stopped on request and never left behind when we exit. */
export interface ServiceProcess {
  readonly name: string;
  /** The guard shell's pid; the service runs in its process group. */
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) if the process ends by itself. */
  readonly exited: Promise<number | NodeJS.Signals>;
  stop(timeoutMs?: number): Promise<void>;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // On a normal exit, don't wait for the guards to notice: end what is still running now.
  process.on('exit', () => {
    for (const child of running) if (child.pid !== undefined) killGroup(child.pid, 'SIGTERM');
  });
}

export function spawnService(options: {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Signal that asks the service to stop (default SIGTERM; PostgreSQL's fast shutdown is SIGINT). */
  stopSignal?: NodeJS.Signals;
  /** Run the guard and the service as this user (a root parent starting a service that refuses root). */
  user?: { uid: number; gid: number };
  /** Let this Node process exit while the service runs (the guard then stops it): for a service nothing waits on. */
  unref?: boolean;
}): ServiceProcess {
  installExitHook();
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  const stopSignal = (options.stopSignal ?? 'SIGTERM').replace(/^SIG/, '');
  const child = spawn('sh', ['-c', ORPHAN_GUARD_SCRIPT, `${options.name}-guard`, stopSignal, options.command, ...options.args], {
    stdio: ['pipe', fd, fd],
    env: options.env ?? process.env,
    cwd: options.cwd,
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    detached: true, // own process group, so a last-resort kill reaches the service too
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  const pid = child.pid;
  running.add(child);
  child.stdin?.on('error', () => undefined);
  if (options.unref) {
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? 'SIGKILL');
    });
  });
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    async stop(timeoutMs = 10_000): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // EOF on its stdin: the guard's watcher sends the service its stop signal and is gone before the service exits,
      // so once the guard has exited nothing of the group is left.
      child.stdin?.end();
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
