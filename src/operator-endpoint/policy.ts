import proto from '@temporalio/proto';
import { COORDINATOR_TASK_QUEUE, nodeHealthTaskQueue, nodeTaskQueue } from '../protocol/task-queues.js';
import { REGISTRATION_WORKFLOW_TYPE } from '../protocol/operator-endpoint-wire.js';
import type { TaskTokenLedger } from './task-tokens.js';

// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export.
const { temporal } = proto;
const ws = temporal.api.workflowservice.v1;

function isRegistrationWorkflowId(id: string | null | undefined, nodeId: string): boolean {
  return typeof id === 'string' && id.startsWith(`register-${nodeId}-`) && /^\d{1,16}$/.test(id.slice(`register-${nodeId}-`.length));
}

/** What the endpoint does with one call of an authenticated node. */
export type Decision =
  | {
      allow: true;
      /** Sees the upstream's answer (e.g. to remember the task token handed out). */
      onResponse?: (response: Buffer) => void;
    }
  | { allow: false; reason: string };

export interface PolicyContext {
  nodeId: string;
  namespace: string;
  tokens: TaskTokenLedger;
}

type Rule = (request: Buffer, ctx: PolicyContext) => Decision;

const ALLOW: Decision = { allow: true };

function deny(reason: string): Decision {
  return { allow: false, reason };
}

/** A task token stays usable this long after its task's own timeout (Temporal refuses it after that anyway). */
const TOKEN_GRACE_MS = 60_000;
/** When a task names no timeout at all. */
const TOKEN_DEFAULT_MS = 24 * 3_600_000;

function durationMs(d: proto.temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse['startToCloseTimeout']): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) * 1_000 + Math.ceil((d.nanos ?? 0) / 1e6);
}

function sameNamespace(namespace: string | null | undefined, ctx: PolicyContext): Decision | null {
  return namespace === ctx.namespace ? null : deny(`namespace ${String(namespace)} is not this endpoint's`);
}

function ownQueues(nodeId: string): string[] {
  return [nodeTaskQueue(nodeId), nodeHealthTaskQueue(nodeId)];
}

const pollActivityTaskQueue: Rule = (bytes, ctx) => {
  const request = ws.PollActivityTaskQueueRequest.decode(bytes);
  const wrongNamespace = sameNamespace(request.namespace, ctx);
  if (wrongNamespace) return wrongNamespace;
  const queue = request.taskQueue?.name ?? '';
  if (!ownQueues(ctx.nodeId).includes(queue)) return deny(`task queue ${queue} is not node ${ctx.nodeId}'s`);
  return {
    allow: true,
    onResponse(response) {
      const task = ws.PollActivityTaskQueueResponse.decode(response);
      if (!task.taskToken || task.taskToken.byteLength === 0) return; // the long poll ended without a task
      const timeout = durationMs(task.startToCloseTimeout) || durationMs(task.scheduleToCloseTimeout) || TOKEN_DEFAULT_MS;
      ctx.tokens.add(task.taskToken, ctx.nodeId, timeout + TOKEN_GRACE_MS);
    },
  };
};

/** Heartbeat, complete, fail, cancel: only with a task token handed to this node; answering forgets it. */
function taskAnswer(decode: (bytes: Buffer) => { namespace?: string | null; taskToken?: Uint8Array | null }, final: boolean): Rule {
  return (bytes, ctx) => {
    const request = decode(bytes);
    const wrongNamespace = sameNamespace(request.namespace, ctx);
    if (wrongNamespace) return wrongNamespace;
    if (!ctx.tokens.owns(request.taskToken, ctx.nodeId)) return deny(`the task token was not handed to node ${ctx.nodeId} (or has expired)`);
    return final ? { allow: true, onResponse: () => ctx.tokens.forget(request.taskToken) } : ALLOW;
  };
}

function jsonPayload(payload: proto.temporal.api.common.v1.IPayload | undefined): unknown {
  const encoding = payload?.metadata?.encoding;
  if (!encoding || Buffer.from(encoding).toString('utf8') !== 'json/plain' || !payload?.data) return undefined;
  try {
    return JSON.parse(Buffer.from(payload.data).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Its own registration only: the registration workflow, on the coordinator's queue, for its node id, plain. */
const startWorkflowExecution: Rule = (bytes, ctx) => {
  const request = ws.StartWorkflowExecutionRequest.decode(bytes);
  const wrongNamespace = sameNamespace(request.namespace, ctx);
  if (wrongNamespace) return wrongNamespace;
  const type = request.workflowType?.name ?? '';
  if (type !== REGISTRATION_WORKFLOW_TYPE) return deny(`workflow type ${type} (operators may start only ${REGISTRATION_WORKFLOW_TYPE})`);
  if (request.taskQueue?.name !== COORDINATOR_TASK_QUEUE) return deny(`task queue ${String(request.taskQueue?.name)} for ${REGISTRATION_WORKFLOW_TYPE}`);
  if (!isRegistrationWorkflowId(request.workflowId, ctx.nodeId)) return deny(`workflow id ${String(request.workflowId)} is not a registration of node ${ctx.nodeId}`);
  if (request.cronSchedule || request.requestEagerExecution || (request.completionCallbacks?.length ?? 0) > 0 || request.continuedFailure || request.lastCompletionResult) {
    return deny('a registration may not set a cron schedule, eager execution, callbacks or carried-over state');
  }
  if (request.memo || request.searchAttributes) return deny('a registration may not set a memo or search attributes');
  const payloads = request.input?.payloads ?? [];
  const input = payloads.length === 1 ? (jsonPayload(payloads[0]) as { announcement?: { nodeId?: unknown } } | undefined) : undefined;
  if (input?.announcement?.nodeId !== ctx.nodeId) return deny(`the registration input does not announce node ${ctx.nodeId}`);
  return ALLOW;
};

/** Reading the result of its own registration run (the client waits on the close event). */
const getWorkflowExecutionHistory: Rule = (bytes, ctx) => {
  const request = ws.GetWorkflowExecutionHistoryRequest.decode(bytes);
  const wrongNamespace = sameNamespace(request.namespace, ctx);
  if (wrongNamespace) return wrongNamespace;
  const id = request.execution?.workflowId;
  return isRegistrationWorkflowId(id, ctx.nodeId) ? ALLOW : deny(`history of workflow ${String(id)} (only node ${ctx.nodeId}'s registration)`);
};

const describeNamespace: Rule = (bytes, ctx) => sameNamespace(ws.DescribeNamespaceRequest.decode(bytes).namespace, ctx) ?? ALLOW;

/** A worker's shutdown notice: it names only sticky (workflow) queues, which operators do not have. */
const shutdownWorker: Rule = (bytes, ctx) => {
  const request = ws.ShutdownWorkerRequest.decode(bytes);
  const wrongNamespace = sameNamespace(request.namespace, ctx);
  if (wrongNamespace) return wrongNamespace;
  return request.stickyTaskQueue ? deny(`sticky task queue ${request.stickyTaskQueue}`) : ALLOW;
};

/**
 * The WorkflowService methods an operator may call, each with its check. Everything not listed is refused:
 * listing, describing, signalling, querying, cancelling or terminating workflows, polling workflow tasks, and so on.
 */
export const OPERATOR_RULES: Readonly<Record<string, Rule>> = {
  // Connection and worker start-up (no data of anyone's).
  GetSystemInfo: () => ALLOW,
  DescribeNamespace: describeNamespace,
  ShutdownWorker: shutdownWorker,
  // Its own node's queues and the tasks handed to it.
  PollActivityTaskQueue: pollActivityTaskQueue,
  RecordActivityTaskHeartbeat: taskAnswer((b) => ws.RecordActivityTaskHeartbeatRequest.decode(b), false),
  RespondActivityTaskCompleted: taskAnswer((b) => ws.RespondActivityTaskCompletedRequest.decode(b), true),
  RespondActivityTaskFailed: taskAnswer((b) => ws.RespondActivityTaskFailedRequest.decode(b), true),
  RespondActivityTaskCanceled: taskAnswer((b) => ws.RespondActivityTaskCanceledRequest.decode(b), true),
  // Its own registration.
  StartWorkflowExecution: startWorkflowExecution,
  GetWorkflowExecutionHistory: getWorkflowExecutionHistory,
};

/** The decision for one call; a request that does not decode is refused. */
export function decide(method: string, request: Buffer, ctx: PolicyContext): Decision {
  const rule = OPERATOR_RULES[method];
  if (!rule) return deny('operators may not call it');
  try {
    return rule(request, ctx);
  } catch {
    return deny('the request does not decode');
  }
}
