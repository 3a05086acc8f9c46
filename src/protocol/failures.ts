/**
 * The one catalogue of ParalleliX failure types: the `type` of every ApplicationFailure an activity or workflow
 * throws, the `code` of the error class it came from, and what the SDK maps back to a typed error
 * (src/sdk/errors.ts, toSdkError). `retryable` says whether trying the same thing again can help; an activity's
 * failure of a non-retryable type ends its retries at once.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ParallelixError } from '../shared/errors.js';

interface FailureEntry {
  readonly retryable: boolean;
  /** The request itself is unservable (another node would refuse it too): its input is at fault. */
  readonly requestInput?: true;
  readonly meaning: string;
}

export const FAILURES = {
  // The request: refused before or while it runs; nothing is charged.
  INVALID_INPUT: { retryable: false, requestInput: true, meaning: 'The request is malformed or does not fit the model chat template.' },
  PROMPT_TOO_LONG: { retryable: false, requestInput: true, meaning: 'Prompt plus maxNewTokens exceed the context window (details: token counts).' },
  MAX_NEW_TOKENS_EXCEEDED: { retryable: false, requestInput: true, meaning: 'maxNewTokens is above what the serving node allows.' },
  REQUEST_NOT_AUTHENTIC: { retryable: false, meaning: 'Step 01: the input carries no valid platform seal, or its seal was already used.' },
  INSUFFICIENT_CREDITS: { retryable: false, meaning: "Step 02: the balance cannot cover the request's maximum cost (details: requested, available)." },
  NO_CAPABLE_NODE: { retryable: false, meaning: 'Step 03: no registered, healthy node offers the model (or every capable node was tried).' },
  ALL_NODES_FAILED: { retryable: false, meaning: 'Every node tried failed, refused falsely or returned an invalid result.' },
  DISPUTE_UNRESOLVED: { retryable: false, meaning: 'Step 11: the nodes disagreed and no further node could decide (details: why).' },
  NO_MAJORITY: { retryable: false, meaning: 'Step 11: three nodes, no majority: nothing is delivered.' },
  COORDINATOR_KEY_MISMATCH: { retryable: false, meaning: 'This coordinator process holds another box key than the one the result was sealed to.' },
  HOLD_RELEASED: { retryable: false, meaning: "Step 12: the request's credit hold was released already; nobody pays for this record." },
  NOT_ANCHORED: { retryable: false, meaning: 'Step 14: the request has no anchored execution record to settle.' },
  NO_HOLD: { retryable: false, meaning: 'Step 14: the request has no credit hold to settle.' },
  // The chain (step 12 and the registry commands).
  CHAIN_UNAVAILABLE: { retryable: true, meaning: 'The RPC endpoint did not answer or answered garbage.' },
  CHAIN_TX_FAILED: { retryable: true, meaning: 'A transaction failed or reverted for a reason not listed here.' },
  CHAIN_NOT_ANCHORER: { retryable: false, meaning: "The sending account is not in the registry's anchorer set." },
  CHAIN_NOT_OWNER: { retryable: false, meaning: 'The sending account is not the registry owner.' },
  CHAIN_ANCHOR_CONFLICT: { retryable: false, meaning: 'A record with other contents already exists for this request id.' },
  CHAIN_INVALID_RECORD: { retryable: false, meaning: 'The contract rejected the record itself.' },
  CHAIN_REGISTRY_MISSING: { retryable: false, meaning: 'No registry code at the configured address.' },
  // An operator's refusal of a dispatch (steps 05–09, 11): the workflow matches another node.
  DISPATCH_NOT_AUTHENTIC: { retryable: false, meaning: 'The dispatch is not signed by the coordinator key the node pinned, or asks for another reply key.' },
  DISPATCH_NOT_FOR_THIS_NODE: { retryable: false, meaning: "The dispatch names another node id than the operator's." },
  COORDINATOR_NOT_PINNED: { retryable: false, meaning: 'The node has not pinned a coordinator key yet (it has not registered).' },
  MODEL_NOT_SERVED: { retryable: false, meaning: 'The node does not serve the requested model.' },
  ENVELOPE_NOT_FOR_THIS_NODE: { retryable: false, meaning: "The sealed envelope is not addressed to this node's box key." },
  ENVELOPE_TAMPERED: { retryable: false, meaning: 'The sealed envelope does not open: it was altered.' },
  ENVELOPE_REQUEST_MISMATCH: { retryable: false, meaning: 'The sealed envelope is bound to another request id.' },
  OPERATOR_FAULT: { retryable: true, meaning: "An unexpected fault on the operator; its text is withheld, as it may quote the request." },
  // Registration of a node.
  ANNOUNCEMENT_INVALID: { retryable: false, meaning: "The operator's announcement is malformed, stale or not signed by its key." },
  NODE_NOT_ADMITTED: { retryable: false, meaning: 'A SUSPENDED or RETIRED node announced itself again.' },
  COORDINATOR_KEY_CHANGED: { retryable: false, meaning: "Operator side: the coordinator answered with other keys than the node pinned (or the pin is unreadable)." },
  // Client side (the SDK's errors for runs that ended without one of the types above).
  REQUEST_CANCELLED: { retryable: false, meaning: 'The run was cancelled or terminated before it completed.' },
  REQUEST_FAILED: { retryable: false, meaning: 'The run failed for a reason that carries no failure type.' },
  IDEMPOTENCY_KEY_REUSED: { retryable: false, meaning: 'The idempotency key was used before for a different request.' },
} as const satisfies Record<string, FailureEntry>;

export type FailureTypeName = keyof typeof FAILURES;

/**
 * A node's faults, the reasons a penalty records (activities/penalise.ts): no failure of the request, which
 * re-matches another node. Each one lowers the node's reputation.
 */
export const NODE_FAULTS = {
  BAD_SIGNATURE: "Step 10: the PoE signature does not verify with the node's registered key.",
  POE_MISMATCH: 'Step 10: the PoE does not commit to the sealed result.',
  UNREADABLE_RESULT: 'Step 10: the sealed result does not open or is not a result payload.',
  WRONG_REQUEST: 'Step 10: the result names another request or node.',
  OUT_OF_BOUNDS: 'Step 10: the result has no tokens or more than maxNewTokens.',
  USAGE_MISMATCH: "Step 10: the node's token counts differ from the coordinator's own count.",
  FALSE_REFUSAL: 'Step 05: the node refused as unservable a request the coordinator counted as fitting.',
  SAMPLE_DISAGREEMENT: "Step 11: the majority of checking nodes overruled this node's answer or check.",
  BAD_SCORE_SIGNATURE: "Step 11: the score report's signature does not verify with the scorer's key.",
  WRONG_CLAIM: 'Step 11: the score report scores another claim than the one sent.',
  MALFORMED_SCORE: 'Step 11: the score report is not well formed for the claim.',
} as const;

export type NodeFault = keyof typeof NODE_FAULTS;

/** The failure type names as constants: `FailureType.NO_CAPABLE_NODE`. */
export const FailureType = Object.fromEntries(Object.keys(FAILURES).map((name) => [name, name])) as { readonly [K in FailureTypeName]: K };

function entry(type: string | null | undefined): FailureEntry | undefined {
  return type != null && Object.hasOwn(FAILURES, type) ? (FAILURES as Record<string, FailureEntry>)[type] : undefined;
}

/** Whether another try can help. A type outside the catalogue (an error code of a local refusal) is final. */
export function isRetryableFailure(type: string | null | undefined): boolean {
  return entry(type)?.retryable ?? false;
}

/** Failure types that mean the request itself is unservable (another node would refuse it too). */
export function isRequestInputFailure(type: string | null | undefined): boolean {
  return entry(type)?.requestInput === true;
}

function failure(type: string, message: string, details: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: !isRetryableFailure(type), ...(details === undefined ? {} : { details: [details] }) });
}

/**
 * The ApplicationFailure that carries a failure through Temporal: retryable as the catalogue says. `details`
 * (token counts, amounts, never request text) travel as the failure's one detail.
 */
export function applicationFailure(type: FailureTypeName, message: string, details?: unknown): ApplicationFailure {
  return failure(type, message, details);
}

/**
 * A ParalleliX error as an ApplicationFailure: its code as the type and its short message. The error's details
 * stay in this process: they can quote the request (e.g. a chat template's own error text), and a failure's text
 * is logged by the worker and stored in history.
 */
export function toApplicationFailure(error: ParallelixError, details?: unknown): ApplicationFailure {
  return failure(error.code, error.shortMessage, details);
}

/**
 * A workflow's own failure for its activity's ApplicationFailure: the client sees the typed failure (its type,
 * message and details), not the ActivityFailure wrapping it. Final: the run has ended.
 */
export function asWorkflowFailure(cause: ApplicationFailure): ApplicationFailure {
  return ApplicationFailure.create({ message: cause.message, type: cause.type ?? undefined, nonRetryable: true, details: cause.details ?? undefined });
}
