import { parseOperatorConfig, type OperatorConfigOverrides } from '../../operator/config.js';
import { runOperatorWithMetrics } from '../../operator/run-with-metrics.js';
import { say } from '../output.js';
import { waitForShutdownSignal } from '../shutdown.js';

/** `parallelix operator`: one operator node until Ctrl-C. Flags override PARALLELIX_* variables. */
export async function operatorCommand(flags: OperatorConfigOverrides): Promise<void> {
  const config = parseOperatorConfig(process.env, flags);
  const controller = new AbortController();
  void waitForShutdownSignal().then(() => controller.abort());
  await runOperatorWithMetrics(config, { signal: controller.signal });
  say(`operator ${config.name} stopped`);
}
