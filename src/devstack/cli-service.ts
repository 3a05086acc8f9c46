import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ProvisioningError } from '../shared/errors.js';
import { projectRoot, stateDir } from '../shared/paths.js';
import { spawnService, type ServiceProcess } from '../shared/service-process.js';

/**
 * A `parallelix <args>` process the stack owns (logs in `<state>/logs/<name>.log`), under the orphan guard;
 * `nodeFlags` go to node itself (e.g. the operators' heap flags).
 */
export function spawnCliService(name: string, args: string[], env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): ServiceProcess {
  const { NODE_OPTIONS: _ignored, ...baseEnv } = process.env;
  return spawnService({
    name,
    command: process.execPath,
    args: [...nodeFlags, '--import', 'tsx', path.join(projectRoot, 'src', 'cli', 'main.ts'), ...args],
    logFile: path.join(stateDir(), 'logs', `${name}.log`),
    cwd: projectRoot,
    env: { ...baseEnv, ...env, PARALLELIX_STATE_DIR: stateDir() },
  });
}

/** Waits until the service's log matches `ready` (returns the match); a ProvisioningError if it exits or times out. */
export async function waitForLogLine(service: ServiceProcess, ready: RegExp, deadline: number): Promise<RegExpExecArray> {
  let exited = false;
  void service.exited.then(() => (exited = true));
  for (;;) {
    const text = readFileSync(service.logFile, 'utf8');
    const match = ready.exec(text);
    if (match) return match;
    if (exited || Date.now() > deadline) throw didNotStart(service, text);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The error for a service that ended or timed out before it was ready: the last lines of its log. */
export function didNotStart(service: ServiceProcess, log = readFileSync(service.logFile, 'utf8')): ProvisioningError {
  return new ProvisioningError(`${service.name} did not start`, { details: log.split('\n').slice(-5).join('\n') });
}
