import { startStack } from '../../devstack/stack.js';
import { stateDir } from '../../shared/paths.js';
import { say, step } from '../output.js';
import { waitForShutdownSignal } from '../shutdown.js';

/** `parallelix start`: the whole stack on embedded defaults, until Ctrl-C. */
export async function startCommand(): Promise<void> {
  const started = Date.now();
  const report = step('stack');
  report(`local state in ${stateDir()}`);
  const stack = await startStack({ report });
  const { temporal, database, chain } = stack.endpoints;
  say('');
  say(`ParalleliX stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  say(`  Temporal      ${temporal.address} (namespace ${temporal.namespace})`);
  if (temporal.uiUrl) say(`  Temporal UI   ${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows`);
  say(`  Database      ${database.embedded ? 'embedded PGlite' : 'PostgreSQL'} ${database.url.replace(/:[^:@/]+@/, ':***@')}`);
  say(`  Chain         ${chain.rpcUrl} (chain id ${chain.chainId}), ExecutionRegistry ${chain.registryAddress}`);
  say('Press Ctrl-C to stop.');
  const signal = await waitForShutdownSignal();
  say(`\n${signal}: stopping the stack`);
  await stack.stop();
  say('stopped');
}
