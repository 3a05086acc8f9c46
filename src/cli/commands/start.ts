import path from 'node:path';
import { loadOrCreateCodecKey } from '../../codec/codec-key.js';
import { startCodecServer } from '../../codec/codec-server.js';
import { loadCodecServerSettings } from '../../codec/codec-settings.js';
import { loadOrCreateCodecToken } from '../../codec/codec-token.js';
import { loadStackConfig } from '../../config/stack-config.js';
import { loadCoordinatorPolicy } from '../../coordinator/config.js';
import { isPortOpen } from '../../devstack/ports.js';
import { ProvisioningError } from '../../shared/errors.js';
import { startCoordinator } from '../../coordinator/coordinator.js';
import { startOperatorFleet } from '../../devstack/operator-fleet.js';
import { startStack } from '../../devstack/stack.js';
import { stateDir } from '../../shared/paths.js';
import { createPrismaClient } from '../../db/client.js';
import { redactUrl } from '../../db/pg-url.js';
import { DEMO_USER, fundDemoUser, runDemoRequests } from '../demo.js';
import { say, step } from '../output.js';
import { waitForShutdownSignal } from '../shutdown.js';
import { sendWorkerLogTo } from '../worker-log.js';

export interface StartFlags {
  operators: number;
  demo: boolean;
}

/**
 * `parallelix start`: the whole network on embedded defaults (Temporal dev server + Web UI, database, anvil +
 * registry, the coordinator, operator nodes), a few demo requests through the pipeline, then up until Ctrl-C.
 */
export async function startCommand(flags: StartFlags): Promise<void> {
  const started = Date.now();
  const report = step('stack');
  report(`local state in ${stateDir()}`);
  sendWorkerLogTo(path.join(stateDir(), 'logs', 'coordinator.log'));
  const policy = loadCoordinatorPolicy();
  const stackConfig = loadStackConfig();
  const codecSettings = loadCodecServerSettings();
  const keyDir = path.join(stateDir(), 'coordinator');
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
    key: loadOrCreateCodecKey(path.join(keyDir, 'codec-key')),
    token: loadOrCreateCodecToken(tokenFile),
    uiOrigin: [...uiOrigins, ...codecSettings.extraOrigins],
  });
  step('codec')(`codec server on ${codec.url} (token in ${process.env.PARALLELIX_CODEC_TOKEN ? 'PARALLELIX_CODEC_TOKEN' : tokenFile})`);
  const stops: (() => Promise<void>)[] = [() => codec.close()];
  const stopAll = async (): Promise<void> => {
    while (stops.length > 0) await stops.pop()?.().catch(() => undefined);
  };
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({ report, config: stackConfig, codecEndpoint: codec.url });
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
      chain: { ...chain, anchorerPrivateKey: stack.anchorerPrivateKey },
      policy,
    });
    stops.push(() => coordinator.stop());
    const names = Array.from({ length: flags.operators }, (_, i) => `node-${i + 1}`);
    step('operators')(`starting ${names.length} operator node(s): ${names.join(', ')} (logs in ${stateDir()}/logs)`);
    const fleet = await startOperatorFleet({ names, temporalAddress: temporal.address, namespace: temporal.namespace });
    stops.push(() => Promise.all(fleet.map((op) => op.process.stop())).then(() => undefined));
    for (const op of fleet) step('operators')(`${op.name}: ${op.nodeId}`);

    say('');
    say(`ParalleliX ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    say(`  Temporal      ${temporal.address} (namespace ${temporal.namespace})`);
    if (temporal.uiUrl) say(`  Temporal UI   ${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows`);
    say(`  Codec server  ${codec.url} (Bearer token in ${process.env.PARALLELIX_CODEC_TOKEN ? 'PARALLELIX_CODEC_TOKEN' : tokenFile})`);
    say(`                browser: open ${codec.url}/login once, then tick "Include cross-origin credentials" in the UI's codec settings`);
    say(`                CLI: temporal workflow show --codec-endpoint ${codec.url} --codec-auth "Bearer ${process.env.PARALLELIX_CODEC_TOKEN ? '$PARALLELIX_CODEC_TOKEN' : `$(cat ${tokenFile})`}" …`);
    say(`  Database      ${database.embedded ? 'embedded PostgreSQL' : 'PostgreSQL'} ${redactUrl(database.url)}${database.embedded ? ` (data in ${path.join(stateDir(), 'postgres')})` : ''}`);
    say(`  Chain         ${chain.rpcUrl} (chain id ${chain.chainId}), ExecutionRegistry ${chain.registryAddress}`);
    say(`  Coordinator   sample probability ${policy.pipeline.sampleProbability}, ${fleet.length} operator node(s)`);
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
