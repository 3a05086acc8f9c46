import { Worker, NativeConnection } from '@temporalio/worker';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { fileURLToPath } from 'node:url';
import { isPortOpen } from '../../src/shared/ports.js';
import { loadDevServerConfig } from '../../src/temporal/dev-server-config.js';
import { startTestTemporal, type TestTemporal } from '../helpers/temporal.js';

let temporal: TestTemporal;

beforeAll(async () => {
  temporal = await startTestTemporal();
});

afterAll(async () => {
  await temporal?.stop();
});

test('the dev server registers the project namespace and its search attributes', async () => {
  const config = loadDevServerConfig();
  const { customAttributes } = await temporal.connection.operatorService.listSearchAttributes({ namespace: config.namespace });
  const custom = Object.keys(customAttributes ?? {});
  for (const name of ['RequestId', 'NodeId', 'UserId', 'PipelineStep', 'Verdict']) expect(custom).toContain(name);
  const ui = await fetch(temporal.server.uiUrl);
  expect(ui.status).toBe(200);
});

test('a worker bundles workflow code and runs a workflow on the provisioned server', async () => {
  const connection = await NativeConnection.connect({ address: temporal.server.address });
  const worker = await Worker.create({
    connection,
    namespace: temporal.server.namespace,
    taskQueue: 'foundation-test',
    workflowsPath: fileURLToPath(new URL('../fixtures/workflows/greeting-workflow.ts', import.meta.url)),
    activities: { greet: async (name: string) => `hello, ${name}` },
  });
  try {
    const result = await worker.runUntil(
      temporal.client.workflow.execute('greetingWorkflow', {
        taskQueue: 'foundation-test',
        workflowId: `greeting-${Date.now()}`,
        args: ['operator'],
      }),
    );
    expect(result).toBe('hello, operator');
    const step = defineSearchAttributeKey('PipelineStep', SearchAttributeType.KEYWORD);
    const handle = temporal.client.workflow.list({ query: `PipelineStep = 'done'` });
    const found: string[] = [];
    for await (const execution of handle) found.push(execution.typedSearchAttributes.get(step) ?? '');
    expect(found).toContain('done');
  } finally {
    await connection.close();
  }
});

test('stop() ends the server and frees its port', async () => {
  const own = await startTestTemporal(); // its own server: the shared one stays up for the other tests
  const port = Number(own.server.address.split(':')[1]);
  expect(await isPortOpen(port)).toBe(true);
  await own.stop();
  expect(await isPortOpen(port)).toBe(false);
});
