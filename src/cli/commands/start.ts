import path from 'node:path';
import { codecKeyFile, coordinatorKeyDir, loadOrCreateCodecKey } from '../../codec/codec-key.js';
import { coordinatorKeyFile } from '../../config/connections.js';
import { loadOrCreateIdentity } from '../../crypto/identity.js';
import { startCodecServer } from '../../codec/codec-server.js';
import { loadCodecServerSettings } from '../../codec/codec-settings.js';
import { loadOrCreateCodecToken } from '../../codec/codec-token.js';
import { loadChainConfig } from '../../chain/config.js';
import { loadStackConfig, type LocalTemporalKind } from '../../config/stack-config.js';
import { createCoordinatorMetrics } from '../../metrics/coordinator-metrics.js';
import { loadMetricsSettings, METRICS_PORTS } from '../../metrics/metrics-settings.js';
import { startProcessMetrics } from '../../metrics/process-metrics.js';
import { createLogger } from '../../shared/logger.js';
import { loadCoordinatorPolicy } from '../../policy/coordinator-policy.js';
import { isPortOpen } from '../../shared/ports.js';
import { ConfigError, ProvisioningError } from '../../shared/errors.js';
import { startCoordinator } from '../../coordinator/coordinator.js';
import { startCoordinatorFleet } from '../../devstack/coordinator-fleet.js';
import { startOperatorFleet } from '../../devstack/operator-fleet.js';
import { approveNode } from '../../policy/node-admission.js';
import { startStack } from '../../devstack/stack.js';
import { stateDir } from '../../shared/paths.js';
import { createPrismaClient } from '../../db/client.js';
import { redactUrl } from '../../db/pg-url.js';
import { DEMO_USER, fundDemoUser, runDemoRequests } from '../demo.js';
import { say, step } from '../output.js';
import { waitForShutdownSignal } from '../shutdown.js';
import { workerLogTo } from '../worker-log.js';

export interface StartFlags {
  operators: number;
  demo: boolean;
  /** Which local Temporal to run (default PARALLELIX_TEMPORAL, else the dev server). */
  temporal?: LocalTemporalKind;
  /** Coordinator processes sharing the task queue (this process runs the first). */
  coordinators: number;
}

/** Metrics ports of `start`: its coordinator on the base port, operators from base + 10, further coordinators from base + 21. */
function metricsPort(base: number, offset: number): string {
  return String(base === 0 ? 0 : base + offset);
}

/**
 * `parallelix start`: the whole network on embedded defaults (Temporal dev server + Web UI or the Temporal server on
 * PostgreSQL, database, anvil + registry, one or more coordinators, operator nodes, a metrics endpoint per process),
 * a few demo requests through the pipeline, then up until Ctrl-C.
 */
export async function startCommand(flags: StartFlags): Promise<void> {
  const started = Date.now();
  const report = step('stack');
  report(`local state in ${stateDir()}`);
  const policy = loadCoordinatorPolicy();
  const stackConfig = loadStackConfig(process.env, flags.temporal ? { temporal: flags.temporal } : {});
  if (flags.coordinators > 1 && loadChainConfig().mode === 'remote') {
    throw new ConfigError('on a configured chain each coordinator process needs an anchoring key of its own', {
      details: 'Run further coordinators with `parallelix coordinator`, each with its own PARALLELIX_CHAIN_PRIVATE_KEY authorised on the registry.',
    });
  }
  const metricsSettings = loadMetricsSettings();
  const metricsBase = metricsSettings.port ?? METRICS_PORTS.coordinator;
  // Before any Temporal worker of this process: the SDK runtime (with its metrics exporter, and the workers' log
  // going to the logs folder) is installed once.
  const metrics = await startProcessMetrics({
    component: 'coordinator',
    logger: createLogger('metrics'),
    temporalSdk: true,
    workerLogger: workerLogTo(path.join(stateDir(), 'logs', 'coordinator.log')),
    settings: { ...metricsSettings, port: metricsBase },
  });
  const codecSettings = loadCodecServerSettings();
  const keyDir = coordinatorKeyDir();
  const tokenFile = path.join(keyDir, 'codec-token');
  // The codec server comes first: the dev server hands its URL to the Web UI (--ui-codec-endpoint).
  if (codecSettings.port !== 0 && (await isPortOpen(codecSettings.port))) {
    throw new ProvisioningError(`Port ${codecSettings.port} (codec server) is already in use`, { details: 'Choose another with PARALLELIX_CODEC_PORT.' });
  }
  const uiOrigins = stackConfig.temporal.mode === 'dev-server'
    ? [`http://127.0.0.1:${stackConfig.temporal.uiPort}`, `http://localhost:${stackConfig.temporal.uiPort}`]
    : [];
  const codec = await startCodecServer({
    port: codecSettings.port,
    key: loadOrCreateCodecKey(codecKeyFile(keyDir)),
    coordinatorBox: (await loadOrCreateIdentity(coordinatorKeyFile())).box,
    token: loadOrCreateCodecToken(tokenFile),
    uiOrigin: [...uiOrigins, ...codecSettings.extraOrigins],
  });
  step('codec')(`codec server on ${codec.url} (token in ${process.env.PARALLELIX_CODEC_TOKEN ? 'PARALLELIX_CODEC_TOKEN' : tokenFile})`);
  const stops: (() => Promise<void>)[] = [() => metrics.close(), () => codec.close()];
  const stopAll = async (): Promise<void> => {
    while (stops.length > 0) await stops.pop()?.().catch(() => undefined);
  };
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({ report, config: stackConfig, codecEndpoint: codec.url, metrics: metrics.registry });
  } catch (error) {
    await stopAll();
    throw error;
  }
  stops.push(() => stack.stop());
  try {
    const { temporal, database, chain } = stack.endpoints;
    step('coordinator')('starting the coordinator worker');
    // One client for everything this process does with the database: the coordinator and the demo.
    const db = createPrismaClient(database.url);
    stops.push(() => db.$disconnect());
    const coordinator = await startCoordinator({
      temporal,
      databaseUrl: database.url,
      db,
      chain: { ...chain, anchorerPrivateKey: stack.anchorerPrivateKey, ...(stack.localAnchorerPool ? { localAnchorerPool: stack.localAnchorerPool } : {}) },
      policy,
      metrics: createCoordinatorMetrics(metrics.registry, db),
    });
    stops.push(() => coordinator.stop());
    const moreCoordinators = flags.coordinators > 1
      ? await startCoordinatorFleet({ count: flags.coordinators - 1, envFor: (i) => ({ PARALLELIX_METRICS_PORT: metricsPort(metricsBase, 21 + i) }) })
      : [];
    stops.push(() => Promise.all(moreCoordinators.map((c) => c.process.stop())).then(() => undefined));
    for (const c of moreCoordinators) step('coordinator')(`${c.name}: process ${c.process.pid}, anchoring from ${c.anchorer}`);
    const names = Array.from({ length: flags.operators }, (_, i) => `node-${i + 1}`);
    step('operators')(`starting ${names.length} operator node(s): ${names.join(', ')} (logs in ${stateDir()}/logs)`);
    const fleet = await startOperatorFleet({
      names,
      operatorEndpoint: stack.endpoints.operatorEndpoint!.address,
      envFor: (i) => ({ PARALLELIX_METRICS_PORT: metricsPort(metricsBase, 10 + i) }),
    });
    stops.push(() => Promise.all(fleet.map((op) => op.process.stop())).then(() => undefined));
    // The stack's own operators need no approval: it admits them as they come up (others stay PENDING).
    for (const op of fleet) await approveNode(db, op.nodeId);
    for (const op of fleet) step('operators')(`${op.name}: ${op.nodeId}`);

    say('');
    say(`ParalleliX ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    say(`  Temporal      ${temporal.address} (namespace ${temporal.namespace})`);
    say(`  Operators     connect to the operator endpoint ${stack.endpoints.operatorEndpoint!.address} (never to Temporal)`);
    if (temporal.uiUrl) say(`  Temporal UI   ${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows`);
    say(`  Codec server  ${codec.url} (Bearer token in ${process.env.PARALLELIX_CODEC_TOKEN ? 'PARALLELIX_CODEC_TOKEN' : tokenFile})`);
    say(`                browser: open ${codec.url}/login once, then tick "Include cross-origin credentials" in the UI's codec settings`);
    say(`                CLI: temporal workflow show --codec-endpoint ${codec.url} --codec-auth "Bearer ${process.env.PARALLELIX_CODEC_TOKEN ? '$PARALLELIX_CODEC_TOKEN' : `$(cat ${tokenFile})`}" …`);
    say(`  Database      ${database.embedded ? 'embedded PostgreSQL' : 'PostgreSQL'} ${redactUrl(database.url)}${database.embedded ? ` (data in ${path.join(stateDir(), 'postgres')})` : ''}`);
    say(`  Chain         ${chain.rpcUrl} (chain id ${chain.chainId}), ExecutionRegistry ${chain.registryAddress}`);
    say(`  Coordinator   ${flags.coordinators} process(es), sample probability ${policy.pipeline.sampleProbability}, ${fleet.length} operator node(s)`);
    say(`  Metrics       ${[metrics.server?.url, ...moreCoordinators.map((c) => c.metricsUrl), ...fleet.map((op) => op.metricsUrl)].filter(Boolean).join(' ')}`);
    say('');
    await fundDemoUser(db);
    if (flags.demo && fleet.length > 0) await runDemoRequests(stack.endpoints, process.env.PARALLELIX_MODEL || 'tiny-random-LlamaForCausalLM-fp16');
    say('');
    const where = process.env.PARALLELIX_STATE_DIR ? `with PARALLELIX_STATE_DIR=${stateDir()}` : 'in this folder';
    say(`Up for more requests. From another terminal ${where} (connections come from ${stateDir()}/stack.json):`);
    say(`  echo "Hello" | npx parallelix submit            as ${DEMO_USER}, on the only model offered`);
    say(`  npx parallelix credits balance ${DEMO_USER}    nodes list    audit <requestId>    api-key create ${DEMO_USER}    gateway`);
    say('Press Ctrl-C to stop.');
    const signal = await Promise.race([waitForShutdownSignal(), coordinator.done.then(() => 'coordinator stopped' as const)]);
    say(`\n${signal}: stopping`);
  } finally {
    await stopAll();
  }
  say('stopped');
}
