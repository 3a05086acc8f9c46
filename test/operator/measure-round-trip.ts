import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createRegistrationActivities } from '../../activities/register-node.js';
import { createIdentity, sealEnvelope, toBase64 } from '../../src/crypto/index.js';
import { createPrismaClient } from '../../src/db/client.js';
import { createInferenceEngine, defaultModelPath } from '../../src/inference/engine.js';
import { OPERATOR_WIRE, type DispatchResult } from '../../src/protocol/operator-wire.js';
import { COORDINATOR_TASK_QUEUE, nodeTaskQueue } from '../../src/protocol/task-queues.js';
import { createLogger } from '../../src/shared/logger.js';
import { createTestDatabase } from '../helpers/database.js';
import { provideTestPostgres } from '../helpers/test-postgres.js';
import { startTestTemporal } from '../helpers/temporal.js';
import { startTestOperatorEndpoint } from '../helpers/operator-endpoint.js';
import { spawnOperator } from './operator-process.js';

const device = process.argv[2] ?? 'cpu';
const model = process.env.PARALLELIX_MODEL ?? 'tiny-random-LlamaForCausalLM-fp16';
const dtype = process.env.PARALLELIX_MODEL_DTYPE ?? 'fp16';
const tokens = Number(process.argv[3] ?? 256);
const messages = [{ role: 'user' as const, content: 'Tell me a long story.' }];
const temporal = await startTestTemporal();
const testPostgres = await provideTestPostgres();
const database = await createTestDatabase();
const db = createPrismaClient(database.url);
const coordinator = createIdentity();
const connection = await NativeConnection.connect({ address: temporal.server.address });
const workers = [
  await Worker.create({ connection, namespace: temporal.server.namespace, taskQueue: COORDINATOR_TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    activities: createRegistrationActivities({ db, logger: createLogger('c'), coordinatorBoxPublicKey: toBase64(coordinator.box.publicKey), coordinatorSignPublicKey: toBase64(coordinator.sign.publicKey) }) }),
  await Worker.create({ connection, namespace: temporal.server.namespace, taskQueue: 'measure',
    workflowsPath: fileURLToPath(new URL('../fixtures/workflows/dispatch-workflow.ts', import.meta.url)) }),
];
const running = Promise.all(workers.map((w) => w.run()));
const t0 = performance.now();
const endpoint = await startTestOperatorEndpoint(temporal.server);
const op = spawnOperator({ PARALLELIX_OPERATOR_ENDPOINT: endpoint.address, PARALLELIX_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'px-m-')),
  PARALLELIX_DEVICE: device, PARALLELIX_MODEL: model, PARALLELIX_MODEL_DTYPE: dtype, PARALLELIX_MAX_NEW_TOKENS: String(tokens) });
const ready = await op.ready;
const results: Record<string, unknown> = { device, model, spawnToReadyMs: Math.round(performance.now() - t0), loadMs: ready.loadMs };
const node = await db.node.findUniqueOrThrow({ where: { nodeId: ready.nodeId } });
const rt: number[] = [];
let out = 0;
for (let i = 0; i < 6; i++) {
  const requestId = `m-${i}`;
  const s = performance.now();
  const r = (await temporal.client.workflow.execute('dispatchFixtureWorkflow', { taskQueue: 'measure', workflowId: `m-${i}-${Date.now()}`,
    args: [{ taskQueue: nodeTaskQueue(ready.nodeId), heartbeatTimeoutMs: 30_000, dispatch: { wire: OPERATOR_WIRE, requestId, nodeId: ready.nodeId, model,
      maxNewTokens: tokens, envelope: sealEnvelope({ messages }, node.boxPublicKey, { requestId }), replyToBoxPublicKey: toBase64(coordinator.box.publicKey) } }] })) as DispatchResult;
  if (i > 0) { rt.push(performance.now() - s); out = r.usage.outputTokens; results.operatorDurationMs = r.durationMs; results.operatorDevice = r.device; }
}
const mean = rt.reduce((a, b) => a + b, 0) / rt.length;
Object.assign(results, { outputTokens: out, roundTripMs: Math.round(mean), roundTripTokensPerS: Math.round((out / mean) * 1000) });
await op.stop();
await endpoint.close();
for (const w of workers) w.shutdown();
await running;
const engine = createInferenceEngine({ model, dtype, device: device as 'cpu', localModelPath: defaultModelPath(), maxContextTokens: 2048, maxNewTokensLimit: tokens, concurrency: 1, logger: createLogger('e') });
results.engineLoadMs = await engine.load();
const et: number[] = [];
for (let i = 0; i < 6; i++) { const r = await engine.generate({ messages, maxNewTokens: tokens }); if (i > 0) et.push(r.durationMs); }
const emean = et.reduce((a, b) => a + b, 0) / et.length;
Object.assign(results, { engineMs: Math.round(emean), engineTokensPerS: Math.round((out / emean) * 1000) });
console.log(JSON.stringify(results));
await engine.dispose(); await db.$disconnect(); await connection.close(); await database.drop(); await testPostgres.stop(); await temporal.stop();
process.exit(0);
