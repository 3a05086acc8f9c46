import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import proto from '@temporalio/proto';
import type { Registry } from 'prom-client';
import { createOperatorEndpointMetrics, type EndpointCallOutcome } from '../metrics/operator-endpoint-metrics.js';
import {
  decodeJson,
  encodeJson,
  OPERATOR_ENDPOINT_SERVICE,
  type ChallengeResponse,
  type LoginRequest,
  type LoginResponse,
} from '../protocol/operator-endpoint-wire.js';
import { ProvisioningError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { OperatorEndpointConfig } from './config.js';
import { decide, type PolicyContext } from './policy.js';
import { SessionStore, type OperatorSession } from './sessions.js';
import { TaskTokenLedger } from './task-tokens.js';

export interface OperatorEndpoint {
  /** host:port operators connect to. */
  address: string;
  port: number;
  close(): Promise<void>;
}

export interface OperatorEndpointOptions {
  config: OperatorEndpointConfig;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Where the endpoint's metrics go (the process's registry). */
  metrics?: Registry;
}

type Bytes = Buffer;
const identity = (b: Bytes): Bytes => b;
/** What @temporalio/proto's services are at run time: protobufjs reflection objects (its typings are static). */
interface ReflectedService {
  fullName: string;
  methods: Record<string, unknown>;
}
function reflected(service: unknown): { name: string; methods: string[] } {
  const s = service as ReflectedService;
  return { name: s.fullName.replace(/^\./, ''), methods: Object.keys(s.methods) };
}
/** Temporal's own services; every method is registered so that refusals are PERMISSION_DENIED, not UNIMPLEMENTED. */
const { temporal } = proto; // CommonJS: only its default export under Node's ESM loader
const PROXIED_SERVICES = [temporal.api.workflowservice.v1.WorkflowService, temporal.api.operatorservice.v1.OperatorService].map(reflected);
const WORKFLOW_SERVICE = PROXIED_SERVICES[0]!.name;
/** Metadata the endpoint does not pass upstream: the node's session token, and what gRPC sets per hop. */
const HOP_HEADERS = ['authorization', 'user-agent', 'host', 'te', 'content-type', 'grpc-accept-encoding', 'grpc-encoding'];
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
const SWEEP_INTERVAL_MS = 60_000;

function upstreamCredentials(security: OperatorEndpointConfig['temporal']['security']): { creds: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const { tls } = security;
  if (!tls) return { creds: grpc.credentials.createInsecure(), options: {} };
  if (tls === true) return { creds: grpc.credentials.createSsl(), options: {} };
  const creds = grpc.credentials.createSsl(
    tls.serverRootCACertificate ? Buffer.from(tls.serverRootCACertificate) : null,
    tls.clientCertPair ? Buffer.from(tls.clientCertPair.key) : null,
    tls.clientCertPair ? Buffer.from(tls.clientCertPair.crt) : null,
  );
  return { creds, options: tls.serverNameOverride ? { 'grpc.ssl_target_name_override': tls.serverNameOverride } : {} };
}

function bearer(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value);
  return match?.[1];
}

function unaryMethod(path: string): grpc.MethodDefinition<Bytes, Bytes> {
  return { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

/**
 * The operator endpoint: a gRPC server that speaks Temporal's WorkflowService to operators and forwards to the
 * Temporal frontend only what a node may do (src/operator-endpoint/policy.ts), plus a login service
 * (src/protocol/operator-endpoint-wire.ts). Works in front of any Temporal (dev server, self-hosted cluster,
 * Temporal Cloud): nothing is installed on the server. Every refusal is logged (method, node, reason; never
 * payloads) and answered PERMISSION_DENIED; a missing, unknown or expired session token UNAUTHENTICATED.
 */
export async function startOperatorEndpoint(options: OperatorEndpointOptions): Promise<OperatorEndpoint> {
  const { config, logger } = options;
  const sessions = new SessionStore(config.sessionTtlMs);
  const tokens = new TaskTokenLedger();
  const metrics = options.metrics
    ? createOperatorEndpointMetrics(options.metrics, { sessions: () => sessions.size, taskTokens: () => tokens.size })
    : undefined;
  const { creds, options: channelOptions } = upstreamCredentials(config.temporal.security);
  const upstream = new grpc.Client(config.temporal.address, creds, {
    ...channelOptions,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 30_000,
  });
  const upstreamApiKey = config.temporal.security.apiKey;

  function forwardMetadata(incoming: grpc.Metadata): grpc.Metadata {
    const out = incoming.clone();
    for (const header of HOP_HEADERS) out.remove(header);
    if (upstreamApiKey) out.set('authorization', `Bearer ${upstreamApiKey}`);
    return out;
  }

  function proxyHandler(service: string, method: string): grpc.handleUnaryCall<Bytes, Bytes> {
    const path = `/${service}/${method}`;
    return (call, callback) => {
      const started = performance.now();
      const finish = (outcome: EndpointCallOutcome, upstreamMs = 0): void => {
        const total = (performance.now() - started) / 1_000;
        metrics?.call(method, outcome, total, Math.max(0, total - upstreamMs / 1_000));
      };
      const token = bearer(call.metadata);
      const session: OperatorSession | undefined = token ? sessions.lookup(token) : undefined;
      if (!session) {
        logger.warn({ method, reason: token ? 'unknown or expired session token' : 'no session token' }, 'operator call refused');
        finish('unauthenticated');
        callback({ code: grpc.status.UNAUTHENTICATED, details: `operator endpoint: ${method} needs a live session token (log in with the node key again)` });
        return;
      }
      const ctx: PolicyContext = { nodeId: session.nodeId, namespace: config.temporal.namespace, tokens };
      const decision = service === WORKFLOW_SERVICE ? decide(method, call.request, ctx) : { allow: false as const, reason: 'operators may not use the operator service' };
      if (!decision.allow) {
        logger.warn({ nodeId: session.nodeId, method, reason: decision.reason }, 'operator call refused');
        finish('refused');
        callback({ code: grpc.status.PERMISSION_DENIED, details: `operator endpoint refused ${method} for node ${session.nodeId}: ${decision.reason}` });
        return;
      }
      const deadline = call.getDeadline();
      const sent = performance.now();
      const pending = upstream.makeUnaryRequest<Bytes, Bytes>(
        path,
        identity,
        identity,
        call.request,
        forwardMetadata(call.metadata),
        Number.isFinite(Number(deadline)) ? { deadline } : {},
        (error, response) => {
          const upstreamMs = performance.now() - sent;
          if (error || !response) {
            finish('upstream_error', upstreamMs);
            callback(error ? { code: error.code, details: error.details, metadata: error.metadata } : { code: grpc.status.INTERNAL, details: 'empty upstream response' });
            return;
          }
          try {
            decision.onResponse?.(response);
          } catch (cause) {
            logger.warn({ nodeId: session.nodeId, method, err: (cause as Error).message }, 'upstream response did not decode');
          }
          finish('forwarded', upstreamMs);
          callback(null, response);
        },
      );
      call.on('cancelled', () => pending.cancel());
    };
  }

  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
  for (const { name, methods } of PROXIED_SERVICES) {
    const definition: Record<string, grpc.MethodDefinition<Bytes, Bytes>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of methods) {
      definition[method] = unaryMethod(`/${name}/${method}`);
      implementation[method] = proxyHandler(name, method);
    }
    server.addService(definition, implementation);
  }

  const json = <Req, Res>(handle: (request: Req) => Res | { error: string }): grpc.handleUnaryCall<Bytes, Bytes> => (call, callback) => {
    let request: Req;
    try {
      request = decodeJson(call.request) as Req;
    } catch {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'operator endpoint: the request is not JSON' });
      return;
    }
    const result = handle(request);
    if (result && typeof result === 'object' && 'error' in result) callback({ code: grpc.status.UNAUTHENTICATED, details: `operator endpoint: ${result.error}` });
    else callback(null, encodeJson(result));
  };
  server.addService(
    { Challenge: unaryMethod(`/${OPERATOR_ENDPOINT_SERVICE}/Challenge`), Login: unaryMethod(`/${OPERATOR_ENDPOINT_SERVICE}/Login`) },
    {
      Challenge: json<{ nodeId?: unknown }, ChallengeResponse>((request) => {
        const issued = sessions.issueChallenge(request?.nodeId);
        return 'reason' in issued ? { error: issued.reason } : { challenge: issued.challenge, expiresAt: new Date(issued.expiresAt).toISOString() };
      }),
      Login: json<Partial<LoginRequest>, LoginResponse>((request) => {
        const outcome = sessions.login(request);
        metrics?.login(outcome.ok ? 'ok' : 'refused');
        if (!outcome.ok) {
          logger.warn({ nodeId: typeof request?.nodeId === 'string' ? request.nodeId.slice(0, 64) : undefined, reason: outcome.reason }, 'operator login refused');
          return { error: `login refused: ${outcome.reason}` };
        }
        logger.info({ nodeId: outcome.session.nodeId }, 'operator logged in');
        return { token: outcome.token, expiresAt: new Date(outcome.session.expiresAt).toISOString(), namespace: config.temporal.namespace };
      }),
    },
  );

  const credentials = config.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: config.tls.cert, private_key: config.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${config.host}:${config.port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  }).catch((error: unknown) => {
    upstream.close();
    throw new ProvisioningError(`the operator endpoint cannot listen on ${config.host}:${config.port}`, {
      details: `${(error as Error).message} (choose another port with PARALLELIX_OPERATOR_ENDPOINT_PORT)`,
    });
  });
  const sweep = setInterval(() => {
    sessions.sweep();
    tokens.sweep();
  }, SWEEP_INTERVAL_MS);
  sweep.unref();
  const address = `${config.host}:${port}`;
  logger.info({ address, temporal: config.temporal.address, namespace: config.temporal.namespace, tls: Boolean(config.tls) }, 'operator endpoint listening');
  return {
    address,
    port,
    async close() {
      clearInterval(sweep);
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      upstream.close();
    },
  };
}
