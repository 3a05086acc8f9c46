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
  .option('--temporal <kind>', 'local Temporal: dev (the CLI dev server with Web UI) or cluster (the Temporal server on PostgreSQL); default PARALLELIX_TEMPORAL or dev', parseTemporalKind)
  .option('--coordinators <count>', 'coordinator processes sharing the task queue', (v) => parseCount(v, '--coordinators', 1), 1)
  .action(async (flags: { operators: number; demo: boolean; temporal?: 'dev' | 'cluster'; coordinators: number }) => {
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
  .description('run one operator node: a Temporal worker on its own task queues (through the operator endpoint) with a transformers.js model')
  .option('--name <name>', 'operator name (selects its key file under the state folder)')
  .option('--key-file <path>', 'identity key file (created with mode 0600 if missing)')
  .option('--endpoint <host:port>', 'the coordinator\'s operator endpoint (default PARALLELIX_OPERATOR_ENDPOINT, else the local stack\'s)')
  .option('--model <name>', 'local model folder name or Hugging Face model id')
  .option('--model-path <dir>', 'folder holding local models')
  .option('--dtype <dtype>', 'ONNX weights variant (fp16, q4, fp32, …)')
  .option('--device <device>', 'auto | webgpu | cpu')
  .option('--max-context-tokens <n>', 'context window enforced per request')
  .option('--max-new-tokens <n>', 'largest maxNewTokens accepted')
  .option('--concurrency <n>', 'inferences run at once')
  .option('--intra-op-threads <n>', 'onnxruntime CPU threads per inference, or auto (sized to the model weights)')
  .action(async (flags: Record<string, string | undefined>) => {
    const { operatorCommand } = await import('./commands/operator.js');
    await operatorCommand({
      name: flags.name,
      keyFile: flags.keyFile,
      endpoint: flags.endpoint,
      model: flags.model,
      modelPath: flags.modelPath,
      dtype: flags.dtype,
      device: flags.device,
      maxContextTokens: flags.maxContextTokens,
      maxNewTokens: flags.maxNewTokens,
      concurrency: flags.concurrency,
      intraOpThreads: flags.intraOpThreads,
    });
  });

program
  .command('operator-endpoint')
  .description('run the operator endpoint: operators log in with their node key and reach only their own task queues through it')
  .option('--port <port>', 'port to listen on (default PARALLELIX_OPERATOR_ENDPOINT_PORT or 7280; 0 = a free port)')
  .action(async (flags: { port?: string }) => {
    const { operatorEndpointCommand } = await import('./commands/operator-endpoint.js');
    await operatorEndpointCommand(flags);
  });

const cluster = program.command('cluster').description('a Temporal cluster (self-hosted or Temporal Cloud) for ParalleliX');
cluster
  .command('setup')
  .description('register the namespace and its search attributes on PARALLELIX_TEMPORAL_ADDRESS through the operator API (idempotent; TLS/API key from PARALLELIX_TEMPORAL_TLS*, PARALLELIX_TEMPORAL_API_KEY)')
  .option('--retention <hours>', 'how long closed requests stay in Temporal, e.g. 72h (only when the namespace is created)')
  .action(async (flags: { retention?: string }) => {
    const { clusterSetupCommand } = await import('./commands/cluster.js');
    await clusterSetupCommand(flags);
  });

const registry = program.command('registry').description('the ExecutionRegistry contract on the configured chain');
registry
  .command('add-anchorer <address>')
  .description('authorise an account to anchor records (one per coordinator process); sent with PARALLELIX_CHAIN_PRIVATE_KEY, which must be the registry owner')
  .action(async (address: string) => {
    const { registryAnchorerCommand } = await import('./commands/registry.js');
    await registryAnchorerCommand('add', address);
  });
registry
  .command('remove-anchorer <address>')
  .description('withdraw an account\'s right to anchor (e.g. a retired coordinator host)')
  .action(async (address: string) => {
    const { registryAnchorerCommand } = await import('./commands/registry.js');
    await registryAnchorerCommand('remove', address);
  });

const credits = program.command('credits').description('off-chain user credits (integer micro-credits)');
credits
  .command('topup <userId> <amount>')
  .description('add <amount> micro-credits to a user (the account is created if needed); applied once per --key')
  .option('--key <idempotencyKey>', 'idempotency key: repeating a top-up with the same key changes nothing (default: a random key)')
  .option('--json', 'print one JSON object (amounts as decimal strings)')
  .action(async (userId: string, amount: string, flags: { key?: string; json?: boolean }) => {
    const { creditsTopupCommand } = await import('./commands/credits.js');
    await creditsTopupCommand(userId, amount, flags);
  });
credits
  .command('balance <userId>')
  .description('spendable and held micro-credits of a user (zeros for an unknown user)')
  .option('--json', 'print one JSON object (amounts as decimal strings)')
  .action(async (userId: string, flags: { json?: boolean }) => {
    const { creditsBalanceCommand } = await import('./commands/credits.js');
    await creditsBalanceCommand(userId, flags);
  });

const nodes = program.command('nodes').description('operator nodes: list, and admission (approve, suspend)');
nodes
  .command('list')
  .description('registered nodes: id, keys, capabilities, status (PENDING: awaiting approval), uptime (PARALLELIX_UPTIME_WINDOW_SECONDS, default 3600), reward weight, penalties and reputation')
  .option('--json', 'print a JSON array')
  .action(async (flags: { json?: boolean }) => {
    const { nodesListCommand } = await import('./commands/nodes.js');
    await nodesListCommand(flags);
  });
nodes
  .command('approve <nodeId>')
  .description('admit a PENDING node (or readmit a SUSPENDED one): it becomes ACTIVE and may be matched; exit 8 when no such node')
  .option('--json', 'print one JSON object')
  .action(async (nodeId: string, flags: { json?: boolean }) => {
    const { nodesAdmissionCommand } = await import('./commands/nodes.js');
    await nodesAdmissionCommand('approve', nodeId, flags);
  });
nodes
  .command('suspend <nodeId>')
  .description('suspend a node: never matched again, its re-registration refused, until approved; exit 8 when no such node')
  .option('--json', 'print one JSON object')
  .action(async (nodeId: string, flags: { json?: boolean }) => {
    const { nodesAdmissionCommand } = await import('./commands/nodes.js');
    await nodesAdmissionCommand('suspend', nodeId, flags);
  });

program
  .command('audit <requestId>')
  .description('check a request end to end: on-chain ExecutionRecord vs database rows, anchor tx, and (with the codec key) the PoE recomputed from the result and the node signature; exit 4 on any mismatch')
  .option('--json', 'print the audit report as JSON')
  .action(async (requestId: string, flags: { json?: boolean }) => {
    const { auditCommand } = await import('./commands/audit.js');
    await auditCommand(requestId, flags);
  });

program
  .command('verify [file]')
  .description('check a result (the JSON `submit --json` prints, from [file] or stdin) against the chain alone: record, PoE recomputed from the text, node key and signature, verdict and sample mode; exit 4 on any mismatch')
  .option('--json', 'print the verification report as JSON')
  .action(async (file: string | undefined, flags: { json?: boolean }) => {
    const { verifyCommand } = await import('./commands/verify.js');
    await verifyCommand(file, flags);
  });

program
  .command('submit')
  .description('send one inference request through the client SDK and stream the verified result to stdout')
  .option('--user <id>', 'user whose credits pay for the request (default: the local stack\'s demo user)')
  .option('--model <model>', 'model id offered by operator nodes (default: the only model on offer, when there is exactly one)')
  .option('--prompt <text>', 'user message (default: read from standard input, which keeps it out of the shell history)')
  .option('--system <text>', 'system message')
  .option('--max-new-tokens <n>', 'largest number of tokens to generate', (v) => parsePositive(v, '--max-new-tokens'), 64)
  .option('--idempotency-key <key>', 'the same key always reaches the same request (never charged twice)')
  .option('--json', 'wait for the result and print one JSON object')
  .action(async (flags: { user?: string; model?: string; prompt?: string; system?: string; maxNewTokens: number; idempotencyKey?: string; json?: boolean }) => {
    const { submitCommand } = await import('./commands/submit.js');
    await submitCommand(flags);
  });

program
  .command('gateway')
  .description('serve the OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models) against a running stack or the configured services')
  .option('--host <host>', 'listen address (default PARALLELIX_GATEWAY_HOST or 127.0.0.1)')
  .option('--port <port>', 'listen port (default PARALLELIX_GATEWAY_PORT or 8080)')
  .action(async (flags: { host?: string; port?: string }) => {
    const { gatewayCommand } = await import('./commands/gateway.js');
    await gatewayCommand(flags);
  });

const apiKey = program.command('api-key').description('gateway API keys, each mapped to a credit account');
apiKey
  .command('create <userId> [label]')
  .description('issue an API key that spends the credits of <userId>; the key is printed once')
  .action(async (userId: string, label: string | undefined) => {
    const { apiKeyCreateCommand } = await import('./commands/api-keys.js');
    await apiKeyCreateCommand(userId, label);
  });

function parsePositive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${flag} must be a positive integer`);
  return n;
}

function parseCount(value: string, flag: string, min = 0): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 32) throw new ConfigError(`${flag} must be an integer from ${min} to 32`);
  return n;
}

function parseTemporalKind(value: string): 'dev' | 'cluster' {
  if (value !== 'dev' && value !== 'cluster') throw new ConfigError('--temporal must be dev or cluster');
  return value;
}

/** Typed errors by their stable code (SDK, database and CLI errors share the ParallelixError family). */
const EXIT_BY_CODE: Record<string, number> = {
  INVALID_INPUT: ExitCode.usage,
  IDEMPOTENCY_CONFLICT: ExitCode.usage,
  IDEMPOTENCY_KEY_REUSED: ExitCode.usage,
  AUDIT_MISMATCH: ExitCode.auditMismatch,
  AUDIT_INCOMPLETE: ExitCode.auditIncomplete,
  VERIFY_MISMATCH: ExitCode.auditMismatch,
  INSUFFICIENT_CREDITS: ExitCode.insufficientCredits,
  NO_CAPABLE_NODE: ExitCode.noCapableNode,
  NOT_FOUND: ExitCode.notFound,
  MODEL_LOAD_FAILED: ExitCode.provisioning,
};

function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return ExitCode.usage;
  if (error instanceof ProvisioningError) return ExitCode.provisioning;
  if (error instanceof ParallelixError) {
    const mapped = EXIT_BY_CODE[error.code];
    if (mapped !== undefined) return mapped;
    // SDK: admitted, then failed or cancelled (RequestFailedError carries the failure type as its code).
    if (error.name === 'RequestFailedError' || error.name === 'RequestCancelledError') return ExitCode.requestFailed;
  }
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
