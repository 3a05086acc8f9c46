import type { SealedEnvelope } from '../crypto/envelope.js';
import type { SignedAnnouncement } from '../crypto/announcement.js';

/**
 * Messages that cross between the coordinator and an operator through Temporal. They hold only public data
 * and envelopes sealed to one party, and carry `wire: OPERATOR_WIRE`: the coordinator's encrypting payload codec
 * passes them through unchanged, so operators never need the coordinator's codec key.
 */
export const OPERATOR_WIRE = 'parallelix/operator-v1' as const;

export interface OperatorWireMessage {
  wire: typeof OPERATOR_WIRE;
}

/** Plaintext sealed inside `DispatchInput.envelope` (step 04), opened only by the target node (step 06). */
export interface InferencePayload {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
}

/** Plaintext sealed inside `DispatchResult.sealedResult` (step 09), opened only by the coordinator. */
export interface ResultPayload {
  text: string;
  /**
   * The generated token ids (end-of-sequence included when emitted). Not signed separately: a verifier checks
   * that they decode to `text`, which the PoE commits to, and scores them (step 11, tolerant mode). Re-tokenising
   * the text instead would not give back the generated ids (docs/sampling.md).
   */
  tokenIds: number[];
}

/** Plaintext sealed inside `ScoreInput.envelope` (step 11, tolerant mode), opened only by node_j. */
export interface ScorePayload {
  messages: InferencePayload['messages'];
  /** node_i's claimed answer: the PoE'd text and its token ids. */
  claim: ResultPayload;
}

/** Input of the operator's `executeInference` activity (step 05 dispatch → steps 06–09 on the node). */
export interface DispatchInput extends OperatorWireMessage {
  requestId: string;
  nodeId: string;
  model: string;
  maxNewTokens: number;
  /** InferencePayload sealed to the node's box key, bound to requestId. */
  envelope: SealedEnvelope;
  /** Coordinator's X25519 public key (base64) the result is sealed back to; a node seals only to the key it pinned. */
  replyToBoxPublicKey: string;
  /** The coordinator's Ed25519 signature over every other field (src/crypto/dispatch-signature.ts), base64. */
  coordinatorSignature?: string;
}

/** Output of `executeInference` (step 09). */
export interface DispatchResult extends OperatorWireMessage {
  requestId: string;
  nodeId: string;
  /** ResultPayload sealed to replyToBoxPublicKey, bound to requestId. */
  sealedResult: SealedEnvelope;
  /** SHA-256(request_id ‖ result ‖ node_id), hex; see docs/poe.md. */
  poe: string;
  /** Ed25519 signature over the PoE (src/crypto/poe.ts signPoe), base64. */
  signature: string;
  usage: { inputTokens: number; outputTokens: number };
  finishReason: 'stop' | 'length';
  device: 'webgpu' | 'cpu';
  durationMs: number;
}

/** Input of the operator's `scoreClaim` activity (step 11, tolerant mode: node_j scores node_i's claim). */
export interface ScoreInput extends OperatorWireMessage {
  requestId: string;
  /** The scoring node (node_j). */
  nodeId: string;
  /** The node whose claim is scored (node_i): the claim's PoE is recomputed with it. */
  claimedNodeId: string;
  model: string;
  maxNewTokens: number;
  /** ScorePayload sealed to node_j's box key, bound to requestId. */
  envelope: SealedEnvelope;
  /** The coordinator's Ed25519 signature over every other field (src/crypto/dispatch-signature.ts), base64. */
  coordinatorSignature?: string;
}

/** What node_j measured and signs: per-position scores of the claim, bound to it by the claim's PoE. */
export interface ScoreReport {
  requestId: string;
  nodeId: string;
  claimedNodeId: string;
  /** PoE of the claim as node_j recomputed it from the text it opened (SHA-256(request ‖ text ‖ node_i)). */
  claimPoe: string;
  /** Per claimed token: gap to the best logit in σ units (rounded to 1e-4; -1 for an id outside the vocabulary). */
  gaps: number[];
  /** Per claimed token: how many vocabulary entries scored higher (0: the argmax). */
  ranks: number[];
  /** The ids decode to exactly the claimed text. */
  textMatches: boolean;
  endsWithEos: boolean;
  eosBeforeEnd: boolean;
  device: 'webgpu' | 'cpu';
  model: string;
  dtype: string;
  inputTokens: number;
  durationMs: number;
}

/** Output of `scoreClaim`: the report and node_j's Ed25519 signature over it (src/crypto/score-report.ts). */
export interface ScoreResult extends OperatorWireMessage {
  report: ScoreReport;
  signature: string;
}

/** Input of the operator's `probe` activity: a fresh challenge (absent in probes of health runs from before it). */
export interface ProbeInput extends OperatorWireMessage {
  nodeId: string;
  /** A fresh random value from the health workflow (uuid4), signed back by the node. */
  challenge: string;
}

/** Output of the operator's `probe` activity: proof that the node's worker is polling right now. */
export interface ProbeResult extends OperatorWireMessage {
  nodeId: string;
  inFlight: number;
  /** Inferences the node runs at once (its inference queue's activity slots). */
  concurrency: number;
  /** The probe's challenge, as signed (src/crypto/health-probe.ts). */
  challenge?: string;
  /** Ed25519 signature of the node over healthProbeMessage(nodeId, challenge), base64. */
  signature?: string;
}

/** Input of the coordinator's node registration workflow, started by an operator at start-up. */
export interface RegistrationInput extends OperatorWireMessage {
  announcement: SignedAnnouncement;
}

export interface RegistrationResult extends OperatorWireMessage {
  nodeId: string;
  taskQueue: string;
  /** The coordinator's X25519 public key, base64: the only key the node seals results to (pinned on first use). */
  coordinatorBoxPublicKey: string;
  /** The coordinator's Ed25519 public key, base64: the node executes only dispatches it signed (pinned on first use). */
  coordinatorSignPublicKey?: string;
}

export function isOperatorWireMessage(value: unknown): value is OperatorWireMessage {
  return typeof value === 'object' && value !== null && (value as { wire?: unknown }).wire === OPERATOR_WIRE;
}
