import { Command, CommanderError } from 'commander';
import { ParallelixError, ConfigError, ProvisioningError } from '../shared/errors.js';
import { ExitCode } from './exit-codes.js';

const program = new Command()
  .name('parallelix')
  .description('ParalleliX: coordinator, operator nodes and tools of the decentralized inference network')
  .showHelpAfterError()
  .exitOverride();

program
  .command('start')
  .description('run the whole stack on embedded defaults (Temporal dev server + Web UI, database, anvil + registry) until Ctrl-C')
  .action(async () => {
    // The stack prints its own progress lines; component logs stay at warn unless asked for.
    process.env.PARALLELIX_LOG_LEVEL ??= 'warn';
    const { startCommand } = await import('./commands/start.js');
    await startCommand();
  });

function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return ExitCode.usage;
  if (error instanceof ProvisioningError) return ExitCode.provisioning;
  return ExitCode.failure;
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
    process.exit(ExitCode.ok);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
    const message = error instanceof ParallelixError ? `${error.name} [${error.code}]: ${error.message}` : String(error instanceof Error ? error.stack : error);
    process.stderr.write(`parallelix: ${message}\n`);
    process.exit(exitCodeOf(error));
  }
}

await main();
