/**
 * The operator endpoint against real processes: the network's operators connect only through it (no Temporal
 * address), and a rogue operator process with a valid node identity of its own tries everything an operator must
 * not do: each attempt is refused with a clear error naming the method, while the victim keeps its work.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { status as grpcStatus } from '@grpc/grpc-js';
import { createIdentity } from '../../src/crypto/index.js';
import { loginToEndpoint } from '../../src/operator/endpoint-login.js';
import { EndpointLoginError } from '../../src/operator/errors.js';
import type { InferenceResult } from '../../src/protocol/inference.js';
import { projectRoot } from '../../src/shared/paths.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { startTestOperatorEndpoint } from '../helpers/operator-endpoint.js';
import { waitFor } from '../helpers/observe.js';
import { startRequest } from '../helpers/scenarios.js';

let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['victim'] });
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

interface Attempt {
  attack: string;
  ok: boolean;
  code?: number;
  details?: string;
}

function runRogue(victim: string): Promise<{ code: number | null; attempts: Map<string, Attempt>; output: string }> {
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test', 'fixtures', 'rogue-operator.ts')], {
    cwd: projectRoot,
    env: { ...env, PARALLELIX_OPERATOR_ENDPOINT: network.operatorEndpoint.address, ROGUE_VICTIM_NODE_ID: victim },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      const attempts = new Map<string, Attempt>();
      for (const line of output.split('\n')) {
        if (!line.startsWith('{"attack"')) continue;
        const attempt = JSON.parse(line) as Attempt;
        attempts.set(attempt.attack, attempt);
      }
      resolve({ code, attempts, output });
    });
  });
}

/** Each refused attempt and the WorkflowService/OperatorService method the endpoint must name. */
const REFUSED: Record<string, string> = {
  'poll-victim-inference-queue': 'PollActivityTaskQueue',
  'poll-victim-health-queue': 'PollActivityTaskQueue',
  'poll-coordinator-workflow-tasks': 'PollWorkflowTaskQueue',
  'start-inference-workflow': 'StartWorkflowExecution',
  'register-as-victim': 'StartWorkflowExecution',
  'signal-workflow': 'SignalWorkflowExecution',
  'query-workflow': 'QueryWorkflow',
  'cancel-workflow': 'RequestCancelWorkflowExecution',
  'terminate-workflow': 'TerminateWorkflowExecution',
  'describe-workflow': 'DescribeWorkflowExecution',
  'read-history': 'GetWorkflowExecutionHistory',
  'list-workflows': 'ListWorkflowExecutions',
  'count-workflows': 'CountWorkflowExecutions',
  'complete-unhanded-task': 'RespondActivityTaskCompleted',
  'fail-unhanded-task': 'RespondActivityTaskFailed',
  'heartbeat-unhanded-task': 'RecordActivityTaskHeartbeat',
  'complete-task-by-id': 'RespondActivityTaskCompletedById',
  'operator-service-search-attributes': 'ListSearchAttributes',
};

test('a rogue operator with a valid node identity is refused everything but its own work, and the victim keeps its work', async () => {
  const victim = network.operators.get('victim')!.nodeId;
  const upSamples = () => network.db.healthSample.count({ where: { nodeId: victim, up: true } });
  const upBefore = await upSamples();

  const rogue = await runRogue(victim);
  expect({ code: rogue.code, done: rogue.output.includes('rogue done') }).toEqual({ code: 0, done: true });
  // The same session works for what an operator may do: the refusals below are the policy, not a broken connection.
  expect(rogue.attempts.get('control:get-system-info')).toMatchObject({ ok: true });
  for (const [attack, method] of Object.entries(REFUSED)) {
    const attempt = rogue.attempts.get(attack);
    expect({ attack, ok: attempt?.ok, code: attempt?.code }).toEqual({ attack, ok: false, code: grpcStatus.PERMISSION_DENIED });
    expect(attempt?.details).toContain(`operator endpoint refused ${method} for node `);
  }
  // The refusals name what was refused: the victim's queues, the workflow type, the foreign registration id.
  expect(rogue.attempts.get('poll-victim-inference-queue')?.details).toContain(`task queue parallelix-${victim} is not node`);
  expect(rogue.attempts.get('poll-victim-health-queue')?.details).toContain(`task queue parallelix-${victim}-health is not node`);
  expect(rogue.attempts.get('start-inference-workflow')?.details).toContain('workflow type inferenceWorkflow');
  expect(rogue.attempts.get('register-as-victim')?.details).toContain(`is not a registration of node`);
  expect(rogue.attempts.get('complete-unhanded-task')?.details).toContain('task token was not handed to node');
  // A forged session token: UNAUTHENTICATED, before any policy.
  const forged = rogue.attempts.get('forged-token:poll-own-queue') ?? rogue.attempts.get('forged-token:connect');
  expect(forged).toMatchObject({ ok: false, code: grpcStatus.UNAUTHENTICATED });

  // Nothing the rogue started exists, and the victim still serves requests and answers its (signed) health probes.
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 100_000);
  const handle = await startRequest(network, userId, 8);
  const result = (await handle.result()) as InferenceResult;
  expect(result.nodeId).toBe(victim);
  await waitFor('signed health probes of the victim counted as up', async () => ((await upSamples()) > upBefore ? true : undefined), 20_000, 200);
  expect((await network.db.node.findUniqueOrThrow({ where: { nodeId: victim } })).status).toBe('ACTIVE');
}, 180_000);

test('a login needs the node key: a wrong signature, a challenge for another node and an expired session are refused', async () => {
  // A second endpoint in front of the same Temporal, with one-second sessions.
  const endpoint = await startTestOperatorEndpoint(network.temporal.server, { PARALLELIX_OPERATOR_SESSION_TTL_SECONDS: '1' });
  try {
    const node = createIdentity();
    const session = await loginToEndpoint({ address: endpoint.address, tls: false }, node);
    const connection = await Connection.connect({ address: endpoint.address, apiKey: session.token, tls: false });
    try {
      await expect(connection.workflowService.getSystemInfo({})).resolves.toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await expect(connection.workflowService.getSystemInfo({})).rejects.toMatchObject({ code: grpcStatus.UNAUTHENTICATED });
    } finally {
      await connection.close();
    }
    // An identity whose key does not match its node id (the key of another node): no session.
    const impostor = { ...createIdentity(), nodeId: node.nodeId };
    await expect(loginToEndpoint({ address: endpoint.address, tls: false }, impostor)).rejects.toThrow(EndpointLoginError);
    await expect(loginToEndpoint({ address: endpoint.address, tls: false }, impostor)).rejects.toThrow(/nodeId does not derive from signPublicKey/);
  } finally {
    await endpoint.close();
  }
}, 60_000);
