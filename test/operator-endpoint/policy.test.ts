/* The operator endpoint's pure parts: which call a node may make, sessions and task tokens (no network). */
import proto from '@temporalio/proto';
import { createIdentity, publicIdentity, signDetached } from '../../src/crypto/index.js';
import { decide, type PolicyContext } from '../../src/operator-endpoint/policy.js';
import { SessionStore } from '../../src/operator-endpoint/sessions.js';
import { TaskTokenLedger } from '../../src/operator-endpoint/task-tokens.js';
import { loginMessage, registrationWorkflowId } from '../../src/protocol/operator-endpoint-wire.js';
import { COORDINATOR_TASK_QUEUE, nodeHealthTaskQueue, nodeTaskQueue } from '../../src/protocol/task-queues.js';

const ws = proto.temporal.api.workflowservice.v1;
const node = createIdentity();
const other = createIdentity();
const namespace = 'parallelix';

function ctx(tokens = new TaskTokenLedger()): PolicyContext {
  return { nodeId: node.nodeId, namespace, tokens };
}

const poll = (queue: string, ns = namespace) => Buffer.from(ws.PollActivityTaskQueueRequest.encode({ namespace: ns, taskQueue: { name: queue } }).finish());

test('polls: its own two queues only, in the endpoint\'s namespace', () => {
  expect(decide('PollActivityTaskQueue', poll(nodeTaskQueue(node.nodeId)), ctx()).allow).toBe(true);
  expect(decide('PollActivityTaskQueue', poll(nodeHealthTaskQueue(node.nodeId)), ctx()).allow).toBe(true);
  expect(decide('PollActivityTaskQueue', poll(nodeTaskQueue(other.nodeId)), ctx())).toEqual({ allow: false, reason: expect.stringContaining(nodeTaskQueue(other.nodeId)) });
  expect(decide('PollActivityTaskQueue', poll(COORDINATOR_TASK_QUEUE), ctx()).allow).toBe(false);
  expect(decide('PollActivityTaskQueue', poll(nodeTaskQueue(node.nodeId), 'other-namespace'), ctx()).allow).toBe(false);
  expect(decide('PollActivityTaskQueue', Buffer.from([0xff, 0xff, 0xff]), ctx())).toEqual({ allow: false, reason: 'the request does not decode' });
  expect(decide('PollWorkflowTaskQueue', Buffer.alloc(0), ctx())).toEqual({ allow: false, reason: 'operators may not call it' });
});

test('task answers: only with a token the endpoint handed to this node, forgotten once answered', () => {
  const tokens = new TaskTokenLedger();
  const c = ctx(tokens);
  const decision = decide('PollActivityTaskQueue', poll(nodeTaskQueue(node.nodeId)), c);
  if (!decision.allow) throw new Error('poll refused');
  const token = Buffer.from('a-task-token');
  decision.onResponse?.(Buffer.from(ws.PollActivityTaskQueueResponse.encode(ws.PollActivityTaskQueueResponse.fromObject({ taskToken: token, startToCloseTimeout: { seconds: 30 } })).finish()));
  const complete = (t: Buffer) => Buffer.from(ws.RespondActivityTaskCompletedRequest.encode({ namespace, taskToken: t }).finish());
  const heartbeat = Buffer.from(ws.RecordActivityTaskHeartbeatRequest.encode({ namespace, taskToken: token }).finish());
  expect(decide('RecordActivityTaskHeartbeat', heartbeat, c).allow).toBe(true);
  expect(decide('RespondActivityTaskCompleted', complete(Buffer.from('another-token')), c).allow).toBe(false);
  // The same token presented by another node: refused.
  expect(decide('RespondActivityTaskCompleted', complete(token), { ...c, nodeId: other.nodeId }).allow).toBe(false);
  const done = decide('RespondActivityTaskCompleted', complete(token), c);
  expect(done.allow).toBe(true);
  if (done.allow) done.onResponse?.(Buffer.alloc(0));
  expect(decide('RespondActivityTaskCompleted', complete(token), c).allow).toBe(false);
  expect(decide('RespondActivityTaskCompletedById', Buffer.alloc(0), c).allow).toBe(false);
});

test('task tokens expire with their task', () => {
  let now = 1_000;
  const tokens = new TaskTokenLedger(() => now);
  tokens.add(Buffer.from('t'), node.nodeId, 500);
  expect(tokens.owns(Buffer.from('t'), node.nodeId)).toBe(true);
  now += 501;
  expect(tokens.owns(Buffer.from('t'), node.nodeId)).toBe(false);
  expect(tokens.size).toBe(0);
});

test('registration: its own registerNodeWorkflow on the coordinator queue, announcing itself, nothing more', () => {
  const start = (over: Partial<proto.temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest> = {}, announced = node.nodeId) =>
    Buffer.from(
      ws.StartWorkflowExecutionRequest.encode({
        namespace,
        workflowId: registrationWorkflowId(node.nodeId, 1_700_000_000_000),
        workflowType: { name: 'registerNodeWorkflow' },
        taskQueue: { name: COORDINATOR_TASK_QUEUE },
        input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify({ announcement: { nodeId: announced } })) }] },
        ...over,
      }).finish(),
    );
  expect(decide('StartWorkflowExecution', start(), ctx()).allow).toBe(true);
  expect(decide('StartWorkflowExecution', start({}, other.nodeId), ctx()).allow).toBe(false);
  expect(decide('StartWorkflowExecution', start({ workflowType: { name: 'inferenceWorkflow' } }), ctx()).allow).toBe(false);
  expect(decide('StartWorkflowExecution', start({ taskQueue: { name: nodeTaskQueue(node.nodeId) } }), ctx()).allow).toBe(false);
  expect(decide('StartWorkflowExecution', start({ workflowId: registrationWorkflowId(other.nodeId, 1) }), ctx()).allow).toBe(false);
  expect(decide('StartWorkflowExecution', start({ workflowId: `register-${node.nodeId}-1-x` }), ctx()).allow).toBe(false);
  expect(decide('StartWorkflowExecution', start({ cronSchedule: '* * * * *' }), ctx()).allow).toBe(false);
  const history = (id: string) => Buffer.from(ws.GetWorkflowExecutionHistoryRequest.encode({ namespace, execution: { workflowId: id } }).finish());
  expect(decide('GetWorkflowExecutionHistory', history(registrationWorkflowId(node.nodeId, 5)), ctx()).allow).toBe(true);
  expect(decide('GetWorkflowExecutionHistory', history(`node-health-${node.nodeId}`), ctx()).allow).toBe(false);
});

test('sessions: a challenge is single-use and bound to its node; the signature must be the node key\'s; tokens expire', () => {
  let now = 0;
  const store = new SessionStore(1_000, () => now);
  const login = (identity = node, signer = node) => {
    const issued = store.issueChallenge(identity.nodeId);
    if ('reason' in issued) throw new Error(issued.reason);
    return {
      challenge: issued.challenge,
      outcome: store.login({
        nodeId: identity.nodeId,
        signPublicKey: publicIdentity(signer).signPublicKey,
        challenge: issued.challenge,
        signature: signDetached(loginMessage(identity.nodeId, issued.challenge), signer.sign.secretKey),
      }),
    };
  };
  const { challenge, outcome } = login();
  if (!outcome.ok) throw new Error(outcome.reason);
  expect(store.lookup(outcome.token)?.nodeId).toBe(node.nodeId);
  // Replaying the same signed challenge: refused.
  expect(store.login({ nodeId: node.nodeId, signPublicKey: publicIdentity(node).signPublicKey, challenge, signature: signDetached(loginMessage(node.nodeId, challenge), node.sign.secretKey) })).toEqual({ ok: false, reason: 'unknown or expired challenge' });
  expect(login(node, other).outcome).toEqual({ ok: false, reason: 'nodeId does not derive from signPublicKey' });
  expect(store.issueChallenge('not-a-node')).toEqual({ reason: expect.stringContaining('nodeId') });
  now += 1_001;
  expect(store.lookup(outcome.token)).toBeUndefined();
});
