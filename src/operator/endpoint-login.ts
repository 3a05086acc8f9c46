import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { publicIdentity, signDetached, type NodeIdentity } from '../crypto/index.js';
import {
  decodeJson,
  encodeJson,
  loginMessage,
  OPERATOR_ENDPOINT_METHODS,
  type ChallengeResponse,
  type LoginRequest,
  type LoginResponse,
} from '../protocol/operator-endpoint-wire.js';
import type { Logger } from '../shared/logger.js';
import type { OperatorConfig } from './config.js';
import { EndpointLoginError } from './errors.js';

/** A session at the operator endpoint: the token the node's Temporal connections send as their API key. */
export interface EndpointSession {
  token: string;
  namespace: string;
  expiresAt: number;
}

const CALL_TIMEOUT_MS = 10_000;
/** Wait before another try when a refresh fails (the current token still lives). */
const RETRY_MS = 5_000;

/** TLS for the node's connections to the endpoint, as NativeConnection and Connection take it. */
export function endpointTls(endpoint: OperatorConfig['endpoint']): { serverRootCACertificate: Buffer } | boolean {
  if (endpoint.caFile) return { serverRootCACertificate: readFileSync(endpoint.caFile) };
  return endpoint.tls;
}

function call<Res>(client: grpc.Client, path: string, request: unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<unknown, Buffer>(
      path,
      encodeJson,
      (b: Buffer) => b,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + CALL_TIMEOUT_MS },
      (error, response) => (error || !response ? reject(error ?? new Error('empty answer')) : resolve(decodeJson(response) as Res)),
    );
  });
}

/** Challenge → signature with the node's Ed25519 key → session token. Throws EndpointLoginError. */
export async function loginToEndpoint(endpoint: OperatorConfig['endpoint'], identity: NodeIdentity): Promise<EndpointSession> {
  const tls = endpointTls(endpoint);
  const creds = tls === false
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createSsl(typeof tls === 'object' ? tls.serverRootCACertificate : null);
  const client = new grpc.Client(endpoint.address, creds);
  try {
    const { challenge } = await call<ChallengeResponse>(client, OPERATOR_ENDPOINT_METHODS.challenge, { nodeId: identity.nodeId });
    const request: LoginRequest = {
      nodeId: identity.nodeId,
      signPublicKey: publicIdentity(identity).signPublicKey,
      challenge,
      signature: signDetached(loginMessage(identity.nodeId, challenge), identity.sign.secretKey),
    };
    const session = await call<LoginResponse>(client, OPERATOR_ENDPOINT_METHODS.login, request);
    return { token: session.token, namespace: session.namespace, expiresAt: Date.parse(session.expiresAt) };
  } catch (error) {
    const detail = (error as grpc.ServiceError).details ?? (error as Error).message;
    throw new EndpointLoginError(`the operator endpoint at ${endpoint.address} did not log node ${identity.nodeId} in`, {
      details: `${detail} (is the endpoint running? set PARALLELIX_OPERATOR_ENDPOINT)`,
      cause: error,
    });
  } finally {
    client.close();
  }
}

/**
 * Logs in again at half of each session's life and hands the new token to `apply` (the connections' setApiKey).
 * Returns a stop function.
 */
export function keepSessionFresh(
  endpoint: OperatorConfig['endpoint'],
  identity: NodeIdentity,
  first: EndpointSession,
  apply: (token: string) => Promise<void>,
  logger: Pick<Logger, 'warn'>,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void refresh(), Math.max(1_000, delayMs));
    timer.unref();
  };
  let current = first;
  const refresh = async (): Promise<void> => {
    try {
      current = await loginToEndpoint(endpoint, identity);
      await apply(current.token);
      schedule((current.expiresAt - Date.now()) / 2);
    } catch (error) {
      logger.warn({ nodeId: identity.nodeId, err: (error as Error).message.split('\n')[0] }, 'operator endpoint session refresh failed; retrying');
      schedule(Math.min(RETRY_MS, (current.expiresAt - Date.now()) / 2));
    }
  };
  schedule((first.expiresAt - Date.now()) / 2);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
