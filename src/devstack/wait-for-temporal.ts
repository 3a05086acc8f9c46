import { Connection } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { ProvisioningError } from '../shared/errors.js';
import { isPortOpen } from '../shared/ports.js';
import type { ServiceProcess } from '../shared/service-process.js';

/** The last lines of a log (each cut short: server logs carry stack traces), for an error message. */
function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((line) => line.slice(0, 300)).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls a starting Temporal server until `ready(connection)` returns true (a thrown error counts as not yet), and
 * fails early with its log's path if the process exits during start-up.
 */
export async function waitForTemporal(options: {
  label: string;
  address: string;
  service: ServiceProcess;
  timeoutMs: number;
  ready: (connection: Connection, deadline: number) => Promise<boolean>;
  intervalMs?: number;
}): Promise<void> {
  const { label, address, service, timeoutMs } = options;
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | NodeJS.Signals | undefined;
  void service.exited.then((code) => (exitedWith = code));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) {
      throw new ProvisioningError(`${label} exited during start-up (${exitedWith}).`, { details: `${logTail(service.logFile)}\n(see ${service.logFile})` });
    }
    if (await isPortOpen(Number(address.split(':').pop()))) {
      let connection: Connection | undefined;
      try {
        connection = await Connection.connect({ address, connectTimeout: 2_000 });
        if (await options.ready(connection, deadline)) return;
      } catch (error) {
        lastError = error;
      } finally {
        await connection?.close().catch(() => undefined);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
  throw new ProvisioningError(`${label} not ready after ${timeoutMs} ms.`, {
    details: `${String(lastError ?? 'no answer')}; see ${service.logFile}`,
    cause: lastError,
  });
}
