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
  .description('run the whole network on embedded defaults (Temporal + Web UI, database, anvil + registry, coordinator, operators) and a few demo requests, until Ctrl-C')
  .option('--operators <count>', 'operator nodes to start', (v) => parseCount(v, '--operators'), 3)
  .option('--no-demo', 'do not send the demo requests')
  .action(async (flags: { operators: number; demo: boolean }) => {
    // The stack prints its own progress lines; component logs stay at warn unless asked for.
    process.env.PARALLELIX_LOG_LEVEL ??= 'warn';
    const { startCommand } = await import('./commands/start.js');
    await startCommand(flags);
  });

program
  .command('coordinator')
  .description('run the coordinator worker (workflows + coordinator activities) against a running stack or the configured services')
  .action(async () => {
    const { coordinatorCommand } = await import('./commands/coordinator.js');
    await coordinatorCommand();
  });

program
  .command('operator')
  .description('run one operator node: a Temporal worker on its own task queue with a transformers.js model')
  .option('--name <name>', 'operator name (selects its key file under the state folder)')
  .option('--key-file <path>', 'identity key file (created with mode 0600 if missing)')
  .option('--temporal-address <host:port>', 'Temporal frontend')
  .option('--namespace <name>', 'Temporal namespace')
  .option('--model <name>', 'local model folder name or Hugging Face model id')
  .option('--model-path <dir>', 'folder holding local models')
  .option('--dtype <dtype>', 'ONNX weights variant (fp16, q4, fp32, …)')
  .option('--device <device>', 'auto | webgpu | cpu')
  .option('--max-context-tokens <n>', 'context window enforced per request')
  .option('--max-new-tokens <n>', 'largest maxNewTokens accepted')
  .option('--concurrency <n>', 'inferences run at once')
  .action(async (flags: Record<string, string | undefined>) => {
    const { operatorCommand } = await import('./commands/operator.js');
    await operatorCommand({
      name: flags.name,
      keyFile: flags.keyFile,
      temporalAddress: flags.temporalAddress,
      temporalNamespace: flags.namespace,
      model: flags.model,
      modelPath: flags.modelPath,
      dtype: flags.dtype,
      device: flags.device,
      maxContextTokens: flags.maxContextTokens,
      maxNewTokens: flags.maxNewTokens,
      concurrency: flags.concurrency,
    });
  });

function parseCount(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 32) throw new ConfigError(`${flag} must be an integer from 0 to 32`);
  return n;
}

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
