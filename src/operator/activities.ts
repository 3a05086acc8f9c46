import { performance } from 'node:perf_hooks';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  computePoe,
  fromBase64,
  openJsonEnvelope,
  sealEnvelope,
  signPoe,
  signHealthProbe,
  signScoreReport,
  type NodeIdentity,
} from '../crypto/index.js';
import type { InferenceEngine } from '../inference/engine.js';
import { GenerationCancelledError, PromptTooLongError } from '../inference/errors.js';
import {
  OPERATOR_WIRE,
  type DispatchInput,
  type DispatchResult,
  type InferencePayload,
  type ProbeInput,
  type ProbeResult,
  type ResultPayload,
  type ScoreInput,
  type ScorePayload,
  type ScoreReport,
  type ScoreResult,
} from '../protocol/operator-wire.js';
import { applicationFailure, FailureType, toApplicationFailure } from '../protocol/failures.js';
import { InvalidInputError, ParallelixError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { verifyDispatchSignature, type SignedDispatchKind } from '../crypto/dispatch-signature.js';
import type { CoordinatorPin } from './coordinator-pin.js';
import { CoordinatorNotPinnedError, DispatchNotAuthenticError, DispatchNotForThisNodeError, ModelNotServedError } from './errors.js';

export interface OperatorActivitiesOptions {
  identity: NodeIdentity;
  /** A loaded engine (runOperator loads it before polling). */
  engine: InferenceEngine;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The coordinator keys this node pinned at registration (undefined until then: every dispatch is refused). */
  coordinator: () => CoordinatorPin | undefined;
}

/** Activities an operator's workers host: executeInference (steps 06–09), scoreClaim (step 11) and probe (health). */
export interface OperatorActivities {
  executeInference(input: DispatchInput): Promise<DispatchResult>;
  scoreClaim(input: ScoreInput): Promise<ScoreResult>;
  /** Health: answers the probe's challenge signed with the node's key (unsigned for a probe without one). */
  probe(input?: ProbeInput): Promise<ProbeResult>;
}

/** Heartbeat period while a forward pass runs or a dispatch waits (neither reports progress per token). */
const QUIET_HEARTBEAT_MS = 1_000;
/**
 * Least time between two progress heartbeats, and from the start of a generation to its first. The worker sends one
 * heartbeat a second at most (maxHeartbeatThrottleInterval) but seals each call's details to the coordinator first:
 * a heartbeat per token sealed ~30 payloads per request that were never sent. The first heartbeat of an activity
 * goes out at once, through the operator endpoint to the Temporal server, which writes it to the run's state: a
 * generation shorter than this sends none (the heartbeat timeout is seconds; a cancel waits for the result instead).
 */
const PROGRESS_HEARTBEAT_GAP_MS = 250;

/** Errors the caller caused: retrying the same input on this node cannot succeed. */
function refusal(error: ParallelixError): ApplicationFailure {
  // Token counts only (never text), so the caller can say by how much the prompt is too long.
  const details =
    error instanceof PromptTooLongError
      ? { inputTokens: error.inputTokens, maxNewTokens: error.maxNewTokens, maxContextTokens: error.maxContextTokens }
      : undefined;
  return toApplicationFailure(error, details);
}

/**
 * An unexpected fault (a runtime error of the engine, …): its text is withheld, since it may quote the request.
 * Retryable, as before: Temporal's retry policy decides.
 */
function withheld(error: unknown): ApplicationFailure {
  const name = error instanceof Error ? error.name : typeof error;
  return applicationFailure(FailureType.OPERATOR_FAULT, `the operator failed (${name}); its text is withheld, as it may quote the request`);
}

/** Only what the pinned coordinator key signed runs here; checked before anything else is read or opened. */
function checkSigned(kind: SignedDispatchKind, input: DispatchInput | ScoreInput, pin: CoordinatorPin | undefined): CoordinatorPin {
  if (input?.wire !== OPERATOR_WIRE) throw new InvalidInputError('dispatch is not an operator wire message');
  if (!pin) throw new CoordinatorNotPinnedError('this node has not pinned a coordinator key yet: it runs no dispatch before it registered');
  if (!verifyDispatchSignature(kind, input, pin.signPublicKey)) {
    throw new DispatchNotAuthenticError('the dispatch is not signed by the coordinator key this node pinned');
  }
  return pin;
}

function checkAddressing(input: DispatchInput | ScoreInput, identity: NodeIdentity, served: string): void {
  if (input.nodeId !== identity.nodeId) {
    throw new DispatchNotForThisNodeError(`dispatch for ${String(input.nodeId)} reached node ${identity.nodeId}`);
  }
  if (typeof input.requestId !== 'string' || input.requestId === '') throw new InvalidInputError('requestId is required');
  if (input.model !== served) throw new ModelNotServedError(`model ${String(input.model)} is not served by this node`);
}

function checkDispatch(input: DispatchInput, identity: NodeIdentity, served: string, pin: CoordinatorPin): void {
  checkAddressing(input, identity, served);
  if (input.replyToBoxPublicKey !== pin.boxPublicKey) {
    throw new DispatchNotAuthenticError('the dispatch asks for a reply key other than the coordinator key this node pinned');
  }
  let replyKey: Uint8Array;
  try {
    replyKey = fromBase64(input.replyToBoxPublicKey);
  } catch {
    throw new InvalidInputError('replyToBoxPublicKey is not base64');
  }
  if (replyKey.byteLength !== 32) throw new InvalidInputError('replyToBoxPublicKey must be a 32-byte key');
}

export function createOperatorActivities({ identity, engine, logger, coordinator }: OperatorActivitiesOptions): OperatorActivities {
  let inFlight = 0;

  async function run(input: DispatchInput): Promise<DispatchResult> {
    const pin = checkSigned('executeInference', input, coordinator());
    const info = engine.info();
    checkDispatch(input, identity, info.model, pin);
    const { requestId } = input;
    // Step 06: only this node's box key opens the envelope; it must be bound to this request id.
    const payload = openJsonEnvelope(input.envelope, identity.box.secretKey, identity.box.publicKey, {
      expectRequestId: requestId,
    }) as InferencePayload;
    if (typeof payload !== 'object' || payload === null) throw new InvalidInputError('inference payload must be an object');

    // Step 07: greedy generation; cancellation from Temporal stops it between tokens.
    const context = Context.current();
    const started = performance.now();
    let tokens = 0;
    let lastProgressBeat = started;
    // Also between tokens: a batched dispatch waits for the generation before it, and after its own row ends, for
    // the rest of its batch; silence there would time the dispatch out (and hide a cancellation from it).
    const beat = setInterval(() => context.heartbeat({ tokens }), QUIET_HEARTBEAT_MS);
    let result;
    try {
      result = await engine.generate({
        messages: payload.messages,
        maxNewTokens: input.maxNewTokens,
        signal: context.cancellationSignal,
        onToken: (progress) => {
          tokens = progress.tokens;
          const now = performance.now();
          if (now - lastProgressBeat < PROGRESS_HEARTBEAT_GAP_MS) return;
          lastProgressBeat = now;
          context.heartbeat({ tokens }); // progress only, never text
        },
      });
    } finally {
      clearInterval(beat);
    }

    // Steps 08–09: commit to the exact text, sign, seal the text back to the coordinator.
    const poe = computePoe({ requestId, result: result.text, nodeId: identity.nodeId });
    // Sealed to the pinned coordinator key only, whatever else a dispatch could name.
    const sealed = sealEnvelope({ text: result.text, tokenIds: result.tokenIds } satisfies ResultPayload as unknown as Record<string, unknown>, pin.boxPublicKey, {
      requestId,
    });
    const durationMs = Math.round(performance.now() - started);
    logger.info(
      { requestId, inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens, durationMs, queuedMs: Math.round(result.queuedMs), finishReason: result.finishReason },
      'inference done',
    );
    return {
      wire: OPERATOR_WIRE,
      requestId,
      nodeId: identity.nodeId,
      sealedResult: sealed,
      poe,
      signature: signPoe(poe, identity.sign.secretKey),
      usage: result.usage,
      finishReason: result.finishReason,
      device: info.device,
      durationMs,
    };
  }

  /** Step 11, tolerant mode, on node_j: open the claim, score it in one forward pass, sign what was measured. */
  async function score(input: ScoreInput): Promise<ScoreResult> {
    checkSigned('scoreClaim', input, coordinator());
    const info = engine.info();
    checkAddressing(input, identity, info.model);
    if (typeof input.claimedNodeId !== 'string' || input.claimedNodeId === identity.nodeId) {
      throw new InvalidInputError('claimedNodeId must name another node');
    }
    const { requestId } = input;
    const payload = openJsonEnvelope(input.envelope, identity.box.secretKey, identity.box.publicKey, {
      expectRequestId: requestId,
    }) as ScorePayload;
    const claim = payload?.claim;
    if (typeof claim?.text !== 'string' || !Array.isArray(claim.tokenIds)) throw new InvalidInputError('the claim needs text and tokenIds');
    if (claim.tokenIds.length > input.maxNewTokens) throw new InvalidInputError('the claim is longer than maxNewTokens');

    const context = Context.current();
    const beat = setInterval(() => context.heartbeat({ phase: 'scoring' }), QUIET_HEARTBEAT_MS);
    let scored;
    try {
      scored = await engine.scoreTokens({ messages: payload.messages, tokenIds: claim.tokenIds, signal: context.cancellationSignal });
    } finally {
      clearInterval(beat);
    }
    const report: ScoreReport = {
      requestId,
      nodeId: identity.nodeId,
      claimedNodeId: input.claimedNodeId,
      claimPoe: computePoe({ requestId, result: claim.text, nodeId: input.claimedNodeId }),
      gaps: scored.positions.map((p) => (Number.isFinite(p.gap) ? Math.round(p.gap * 1e4) / 1e4 : -1)),
      ranks: scored.positions.map((p) => p.rank),
      textMatches: scored.text === claim.text,
      endsWithEos: scored.endsWithEos,
      eosBeforeEnd: scored.eosBeforeEnd,
      device: info.device,
      model: info.model,
      dtype: info.dtype,
      inputTokens: scored.inputTokens,
      durationMs: Math.round(scored.durationMs),
    };
    logger.info({ requestId, claimedNodeId: input.claimedNodeId, positions: report.gaps.length, durationMs: report.durationMs }, 'claim scored');
    return { wire: OPERATOR_WIRE, report, signature: signScoreReport(report, identity.sign.secretKey) };
  }

  /** Counts the slot, maps refusals to non-retryable failures and cancellation to a cancelled activity. */
  async function guarded<T>(requestId: unknown, work: () => Promise<T>): Promise<T> {
    inFlight += 1;
    try {
      return await work();
    } catch (error) {
      const signal = Context.current().cancellationSignal;
      if (error instanceof GenerationCancelledError || signal.aborted) {
        logger.info(
          { requestId, outputTokens: error instanceof GenerationCancelledError ? error.outputTokens : undefined },
          'inference cancelled',
        );
        // Completing with the SDK's CancelledFailure reports the activity as cancelled, not failed.
        throw signal.reason instanceof CancelledFailure ? signal.reason : new CancelledFailure('inference cancelled');
      }
      if (error instanceof ParallelixError) {
        logger.warn({ requestId, code: error.code }, 'inference refused');
        throw refusal(error);
      }
      logger.warn({ requestId, error: error instanceof Error ? error.name : typeof error }, 'inference failed');
      throw withheld(error); // unexpected (runtime fault): Temporal's retry policy decides
    } finally {
      inFlight -= 1;
    }
  }

  return {
    executeInference: (input) => guarded(input?.requestId, () => run(input)),
    scoreClaim: (input) => guarded(input?.requestId, () => score(input)),

    async probe(input) {
      const { concurrency, batchMax } = engine.info();
      const answer: ProbeResult = { wire: OPERATOR_WIRE, nodeId: identity.nodeId, inFlight, concurrency: concurrency * batchMax };
      const challenge = input?.challenge;
      // Signs only a challenge addressed to this node: a signature is bound to the node id and that challenge.
      if (typeof challenge !== 'string' || challenge === '' || challenge.length > 128 || input?.nodeId !== identity.nodeId) return answer;
      return { ...answer, challenge, signature: signHealthProbe(identity.nodeId, challenge, identity.sign.secretKey) };
    },
  };
}
