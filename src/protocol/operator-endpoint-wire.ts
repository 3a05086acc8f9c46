/**
 * The operator endpoint's own login service (beside the Temporal WorkflowService it proxies): a node asks for a
 * challenge, signs it with its Ed25519 key and receives a short-lived session token, which its Temporal
 * connections then send as their API key (`authorization: Bearer <token>`). Messages are JSON.
 */
import type { RegistrationInput, RegistrationResult } from './operator-wire.js';

/** Conventional port of the operator endpoint (clear of the Temporal server's own ports, 7233 to 7243 and 8000). */
export const OPERATOR_ENDPOINT_PORT = 7280;

export const OPERATOR_ENDPOINT_SERVICE = 'parallelix.operator.v1.OperatorEndpoint';

export const OPERATOR_ENDPOINT_METHODS = {
  challenge: `/${OPERATOR_ENDPOINT_SERVICE}/Challenge`,
  login: `/${OPERATOR_ENDPOINT_SERVICE}/Login`,
} as const;

export interface ChallengeRequest {
  nodeId: string;
}

export interface ChallengeResponse {
  /** 32 random bytes, base64; valid once, for a few seconds. */
  challenge: string;
  expiresAt: string;
}

export interface LoginRequest {
  nodeId: string;
  /** The node's Ed25519 public key (base64); nodeId must derive from it. */
  signPublicKey: string;
  challenge: string;
  /** Ed25519 signature of loginMessage(nodeId, challenge), base64. */
  signature: string;
}

export interface LoginResponse {
  /** Session token: send it as the Temporal connection's API key. */
  token: string;
  expiresAt: string;
  /** The Temporal namespace the node's workers poll in. */
  namespace: string;
}

/** The bytes a node signs to log in: domain, node id and the endpoint's challenge. */
export function loginMessage(nodeId: string, challenge: string): string {
  return `parallelix/operator-endpoint-login-v1\n${nodeId}\n${challenge}`;
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function decodeJson(bytes: Buffer): unknown {
  return JSON.parse(bytes.toString('utf8')) as unknown;
}

/**
 * The workflow an operator may start through the endpoint: its own registration, nothing else. Its type name and
 * signature, shared by the workflow (workflows/node-registration-workflow.ts) and the operator that starts it.
 */
export const REGISTRATION_WORKFLOW_TYPE = 'registerNodeWorkflow';
export type RegistrationWorkflow = (input: RegistrationInput) => Promise<RegistrationResult>;

/** Workflow id of a node's registration run: the node id and a millisecond timestamp. */
export function registrationWorkflowId(nodeId: string, at: number): string {
  return `register-${nodeId}-${at}`;
}
