import { ExitCode } from './exit-codes.js';
import { say } from './output.js';

/**
 * Resolves on the first SIGINT/SIGTERM so the caller can stop cleanly; a later second signal exits at once.
 */
export function waitForShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let firstAt = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      // A terminal Ctrl-C can arrive twice at once (from the terminal and relayed by a parent such as tsx or npm).
      if (firstAt && Date.now() - firstAt < 1_500) return;
      if (firstAt) {
        say('second interrupt: exiting without a clean shutdown');
        process.exit(ExitCode.interrupted);
      }
      firstAt = Date.now();
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
