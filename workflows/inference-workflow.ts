/**
 * One ParalleliX inference request, steps 01–14 in the fixed order of docs/pipeline.md.
 * Coordinator steps are local activities (they run in this worker: ~10x less latency than a round trip through
 * matching); the dispatch to an operator is a regular activity on that node's own task queue.
 * Nothing here sees plaintext in history: the coordinator's payload codec encrypts inputs and results, and the
 * dispatch carries only an envelope sealed to the node.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineSearchAttributeKey,
  SearchAttributeType,
  TemporalFailure,
  type RetryPolicy,
  type SearchAttributeUpdatePair,
} from '@temporalio/common';
import {
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { CoordinatorActivities } from '../activities/index.js';
import type { MatchedNode } from '../activities/match.js';
import type { MatchedDispatch } from '../activities/match-and-encrypt.js';
import type { JudgeScoreOutcome } from '../activities/sample-check.js';
import type { AnchorInput, AnchorOutput } from '../activities/anchor.js';
import type { AcceptedRequest } from '../activities/accept-request.js';
import type { VerifyOutcome } from '../activities/verify.js';
import type { SettleOutput } from '../activities/settle.js';
import type { RecordMode, RecordScore, VerdictName } from '../src/protocol/verdict.js';
import type { PipelineSettings } from '../src/policy/coordinator-policy.js';
import type { OperatorActivities } from '../src/operator/activities.js';
import { applicationFailure, asWorkflowFailure, FailureType, isRequestInputFailure } from '../src/protocol/failures.js';
import {
  ANCHOR_WAITING_STEP,
  resultChunkQuery,
  statusQuery,
  type InferenceResult,
  type InferenceWorkflowInput,
  type PipelineStep,
  type RequestStatus,
} from '../src/protocol/inference.js';
import type { DispatchInput, DispatchResult, ScoreResult } from '../src/protocol/operator-wire.js';
import { nodeTaskQueue } from '../src/protocol/task-queues.js';

export const REQUEST_ID = defineSearchAttributeKey('RequestId', SearchAttributeType.KEYWORD);
export const NODE_ID = defineSearchAttributeKey('NodeId', SearchAttributeType.KEYWORD);
export const USER_ID = defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD);
export const PIPELINE_STEP = defineSearchAttributeKey('PipelineStep', SearchAttributeType.KEYWORD);
export const VERDICT = defineSearchAttributeKey('Verdict', SearchAttributeType.KEYWORD);
export const MODEL = defineSearchAttributeKey('Model', SearchAttributeType.KEYWORD);

/**
 * Patch: every exit without settlement releases the hold (a failure or cancel at 02 Admit or in step 11's
 * bookkeeping), and a cancel once 12 Anchor is under way is too late: the run anchors and settles. Runs started
 * before it replay their recorded paths.
 */
export const RELEASE_ON_EVERY_EXIT = 'release-on-every-exit';

/**
 * Patch: fewer local activities and history events per run, none that anyone could see apart. Each local activity
 * costs the run a workflow activation and a marker (≈ 4 ms on two cores), and the steps of one workflow task are
 * only ever seen together, so a step that never waits runs with its neighbour: 01 · 02, 03 · 04 and 13 · 14 (13's
 * row update commits in 14's transaction) are one local activity each. A search attribute known between two steps
 * rides on the next step's PipelineStep upsert; 11's upsert is written only by a run that samples. Every step that
 * can wait (an account lock, a node, the chain) still upserts its PipelineStep before it waits. Runs started before
 * it replay their recorded upserts and one local activity per step.
 */
export const FEWER_HISTORY_EVENTS = 'fewer-history-events';

/**
 * Patch: the first node is matched and the dispatch sealed in 01 · 02's local activity (01 · 02 · 03 · 04), one
 * workflow activation, one marker and 03's upsert fewer per run. Only the first try: when it fails, and for every
 * re-match, 03 · 04 run on their own as before. The run shows 02 while its first 03 waits. Runs started before it
 * replay 01 · 02 and 03 · 04 apart.
 */
export const FEWER_ACTIVATIONS = 'fewer-activations';

/**
 * Patch: 12, 13's row update and 14 in one local activity, tried once: one workflow activation, one marker and
 * 14's upsert fewer per run. The pair settles only after the anchor returned, so the record still precedes every
 * payment. When the try fails, 12 and 14 run apart as before (with their retries and the wait for the chain; a
 * record the try anchored is found, not written again). The run shows 12 while the pair runs.
 *
 * It also stands for every patch of this workflow before it (FOLDED_PATCHES): a run that records it takes their
 * paths without recording their markers. Each patch costs each run two history events (its marker and the
 * TemporalChangeVersion upsert that core adds), 6 of a happy run's 26 before this. Runs started before it replay the
 * markers they recorded, each patch on its own. A later patch records its own marker until the next such patch
 * takes it in.
 */
export const ANCHOR_AND_SETTLE = 'anchor-and-settle';

type Acts = CoordinatorActivities;

/** Coordinator steps: 10 attempts ride out a restart of the database or the coordinator's own dependencies (~26 s). */
const quick: RetryPolicy = { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 10 };
/** Past the anchor there is no compensation: these steps retry until they succeed. */
const untilDone: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' };

/** The local activity registered under a step's name; its summary (by default the name) is what the Web UI shows. */
function local<K extends keyof Acts>(step: K, startToCloseTimeout: string, retry: RetryPolicy, summary: string = step): Acts[K] {
  return proxyLocalActivities<Acts>({ summary, startToCloseTimeout, retry })[step];
}

const acceptRequest = local('01 Request', '10 seconds', quick);
const admit = local('02 Admit', '30 seconds', quick);
/** 01 and 02 in one local activity (FEWER_HISTORY_EVENTS): 02's timeout, as 01 does no waiting. */
const acceptAndAdmit = local('01 Request · 02 Admit', '30 seconds', quick);
/** 01 to 04 in one local activity (FEWER_ACTIVATIONS): 02's timeout; a first match that fails is tried again apart. */
const admitAndMatch = local('01 Request · 02 Admit · 03 Match · 04 Encrypt', '30 seconds', quick);
/** Step 12's retries (settings.anchorAttempts, default 20: about 7 minutes), then the wait for the chain. */
const anchorWithRetries = (attempts: number) => local('12 Anchor', '2 minutes', { ...quick, maximumAttempts: attempts, maximumInterval: '30 seconds' });
/** While the run waits for the chain: one short try per wake-up. */
const anchorWhileWaiting = local('12 Anchor', '2 minutes', { ...quick, maximumAttempts: 3 });
/**
 * Past its retries, a failed anchor no longer releases the hold of verified work: the run waits for the chain
 * (runs in flight before this change, replaying a release there, keep it).
 */
const ANCHOR_WAITS_FOR_CHAIN = 'anchor-waits-for-chain';
/** How long a run waits for the chain before it releases the hold after all (settings.anchorWaitSeconds). */
export const DEFAULT_ANCHOR_WAIT_SECONDS = 24 * 3600;
const ANCHOR_WAKE_FIRST_MS = 15_000;
const ANCHOR_WAKE_MAX_MS = 10 * 60_000;
/** 12 to 14 in one local activity (ANCHOR_AND_SETTLE): one try, 12's timeout (the receipt is awaited in it). */
const anchorAndSettle = local('12 Anchor · 14 Settle', '2 minutes', { ...quick, maximumAttempts: 1 }, '12 Anchor · 13 Return result · 14 Settle');
const recordReturn = local('13 Return result', '15 seconds', untilDone);
const settle = local('14 Settle', '30 seconds', untilDone);
/** Step 13's row update and step 14 in one local activity and one transaction (FEWER_HISTORY_EVENTS). */
const returnAndSettle = local('14 Settle', '30 seconds', untilDone, '13 Return result · 14 Settle');
const releaseCredits = local('Compensate · release credits', '30 seconds', untilDone);
const recordSample = local('11 Sample · record', '15 seconds', quick);
const penaliseLoser = local('11 Sample · penalise', '15 seconds', quick);
const sealClaim = local('11 Sample · seal claim', '15 seconds', quick);
const judgeScore = local('11 Sample · judge', '15 seconds', quick);

/** Steps 03, 04, 10 run again inside step 11 for the sampled node: the same activities under 11's names. */
const phase = {
  primary: {
    match: local('03 Match', '15 seconds', quick),
    encrypt: local('04 Encrypt', '15 seconds', quick),
    matchAndEncrypt: local('03 Match · 04 Encrypt', '15 seconds', quick),
    verifyResult: local('10 Verify sig', '15 seconds', quick),
    penaliseNode: local('10 Verify sig · penalise', '15 seconds', quick),
    checkRefusal: local('05 Dispatch · check refusal', '15 seconds', quick),
  },
  sample: {
    match: local('11 Sample · match', '15 seconds', quick),
    encrypt: local('11 Sample · encrypt', '15 seconds', quick),
    matchAndEncrypt: local('11 Sample · match · encrypt', '15 seconds', quick),
    verifyResult: local('11 Sample · verify', '15 seconds', quick),
    penaliseNode: local('11 Sample · penalise', '15 seconds', quick),
    checkRefusal: local('11 Sample · check refusal', '15 seconds', quick),
  },
};


interface Execution {
  node: MatchedNode;
  result: DispatchResult;
  text: string;
  tokenIds: number[];
}

/**
 * Patch: a node's claim that the request is unservable (INVALID_INPUT, PROMPT_TOO_LONG, …) no longer ends the request
 * by itself; the coordinator's own check decides (activities/check-refusal.ts). Runs started before it end as they did.
 */
const NODE_REFUSAL_CHECKED = 'node-refusal-checked';

/** A tolerant check of one claim by one scoring node. */
interface Scored {
  node: MatchedNode;
  pass: boolean;
  score: RecordScore;
  /** Prompt + claimed tokens the node ran through its forward pass: its verification weight (docs/sampling.md). */
  scoredTokens: number;
}

/** The patches ANCHOR_AND_SETTLE stands for. */
const FOLDED_PATCHES: readonly string[] = [RELEASE_ON_EVERY_EXIT, FEWER_HISTORY_EVENTS, FEWER_ACTIVATIONS, ANCHOR_WAITS_FOR_CHAIN, NODE_REFUSAL_CHECKED];
/** patched() for one run: true for every folded patch in a run that recorded ANCHOR_AND_SETTLE. */
type HasPatch = (patch: string) => boolean;

export async function inferenceWorkflow(input: InferenceWorkflowInput): Promise<InferenceResult> {
  const state: RequestStatus = { step: '01 Request', requestId: null, nodeId: null, triedNodeIds: [], resultAvailable: false };
  let resultText: string | null = null;
  setHandler(statusQuery, () => state);
  setHandler(resultChunkQuery, (from: number) => (resultText === null ? null : resultText.slice(Math.max(0, from))));

  // Decided once, at the start: a run in flight from before never takes 12 · 13 · 14 together.
  const anchorAndSettleTogether = patched(ANCHOR_AND_SETTLE);
  const hasPatch: HasPatch = (patch) => (anchorAndSettleTogether && FOLDED_PATCHES.includes(patch)) || patched(patch);
  const fewerEvents = hasPatch(FEWER_HISTORY_EVENTS);
  /** Search attributes waiting for the next step's upsert (FEWER_HISTORY_EVENTS). */
  let carried: SearchAttributeUpdatePair[] = [];
  /** A search attribute that is known now: upserted at once by runs from before the patch, else with the next step. */
  const note = (pairs: SearchAttributeUpdatePair[]): void => {
    if (fewerEvents) carried.push(...pairs);
    else upsertSearchAttributes(pairs);
  };
  /** `shown: false`: a step of the patched runs that cannot wait, so no upsert is ever seen for it. */
  const enter = (step: PipelineStep, shown = true): void => {
    state.step = step;
    if (fewerEvents && !shown) return;
    upsertSearchAttributes([{ key: PIPELINE_STEP, value: step }, ...carried]);
    carried = [];
  };

  // 01 Request: shape and worst-case price; the coordinator's policy for this run is recorded in history.
  // 02 Admit: hold the maximum cost first; only a cleared hold makes the request id public.
  let requestId: string;
  /** Set once the hold went back: later failures must not release it twice. */
  let released = false;
  const compensate = async (reason: string): Promise<void> => {
    await CancellationScope.nonCancellable(() => releaseCredits({ requestId, reason }));
    released = true;
  };
  /** An admit that failed or was cancelled may have left a hold without its request row: give it back. */
  const admitFailed = async (error: unknown): Promise<never> => {
    // A refusal for insufficient credits held nothing.
    if (failureType(error) !== FailureType.INSUFFICIENT_CREDITS && hasPatch(RELEASE_ON_EVERY_EXIT)) {
      failWorkflowTaskOn(error);
      await compensate(failureType(error) ?? (isCancellation(error) ? 'cancelled' : 'admit failed'));
    }
    throw unwrap(error);
  };
  let accepted: AcceptedRequest;
  /** The primary's first node and its sealed dispatch, matched in 02's local activity (FEWER_ACTIVATIONS). */
  let firstMatch: MatchedDispatch | null = null;
  if (fewerEvents) {
    // One local activity: 01 never waits, so the run shows 02, where it may wait for its account.
    note([{ key: USER_ID, value: input.userId }, { key: MODEL, value: input.model }]);
    enter('02 Admit');
    requestId = uuid4();
    const admission = { request: input, requestId, workflowId: workflowInfo().workflowId };
    const admitted = hasPatch(FEWER_ACTIVATIONS) ? admitAndMatch(admission) : acceptAndAdmit(admission).then((ok) => ({ accepted: ok, first: null }));
    ({ accepted, first: firstMatch } = await admitted.catch((error: unknown) => {
      if (!isRefusedRequest(error)) return admitFailed(error);
      // Refused at 01: nothing was held.
      enter('01 Request');
      throw unwrap(error);
    }));
  } else {
    enter('01 Request');
    note([{ key: USER_ID, value: input.userId }, { key: MODEL, value: input.model }]);
    accepted = await acceptRequest(input).catch((error: unknown) => {
      throw unwrap(error);
    });
    enter('02 Admit');
    requestId = uuid4();
    await admit({ requestId, workflowId: workflowInfo().workflowId, userId: input.userId, model: input.model, maxCost: accepted.maxCost }).catch(admitFailed);
  }
  const settings = accepted.settings;
  state.requestId = requestId;
  note([{ key: REQUEST_ID, value: requestId }]);

  /** Nodes that returned a valid score for this request: they may still answer or score another claim. */
  const scorers = new Set<string>();
  /** Nodes not to match again: every node tried, except scorers that proved usable. */
  const spent = (): string[] => state.triedNodeIds.filter((id) => !scorers.has(id));
  const tried = (nodeId: string): void => {
    if (!state.triedNodeIds.includes(nodeId)) state.triedNodeIds.push(nodeId);
  };

  /** Steps 03–10 on one node, re-matching another node after a failure, up to the configured count. */
  /** Primary: any node of the model. Sample: a node of the same model and dtype as node_i (any device). */
  const executeOnSomeNode = async (purpose: 'primary' | 'sample', exclude: string[], budget: number, dtype?: string): Promise<Execution> => {
    const { match, encrypt, matchAndEncrypt, verifyResult, penaliseNode, checkRefusal } = phase[purpose];
    /** Refusals the coordinator could not check (no tokenizer): the request ends with one only if every node refused. */
    const unchecked: unknown[] = [];
    const unanimousRefusal = (attempts: number): unknown =>
      attempts > 0 && unchecked.length === attempts && new Set(unchecked.map(failureType)).size === 1 ? unchecked[0] : undefined;
    for (let attempt = 0; attempt < budget; attempt += 1) {
      const matchInput = { requestId, model: input.model, ...(dtype === undefined ? {} : { dtype }), maxNewTokens: input.maxNewTokens, exclude: [...exclude, ...spent()] };
      const noNode = (error: unknown): never => {
        throw unanimousRefusal(attempt) ?? error;
      };
      const matched = (nodeId: string): void => {
        tried(nodeId);
        if (purpose === 'primary') {
          state.nodeId = nodeId;
          note([{ key: NODE_ID, value: nodeId }]);
        }
      };
      let node: MatchedNode;
      let dispatch: DispatchInput;
      // Matched already in 02's local activity (FEWER_ACTIVATIONS): no wait in 03 for anyone to see.
      const first = purpose === 'primary' && attempt === 0 ? firstMatch : null;
      firstMatch = null;
      if (purpose === 'primary') enter('03 Match', first === null);
      if (fewerEvents) {
        // One local activity; the run shows 03 while it runs (it may wait in either step's read or write).
        ({ node, dispatch } = first ?? (await matchAndEncrypt({ ...matchInput, messages: input.messages, primary: purpose === 'primary' }).catch(noNode)));
        matched(node.nodeId);
      } else {
        node = await match(matchInput).catch(noNode);
        matched(node.nodeId);
        if (purpose === 'primary') enter('04 Encrypt');
        dispatch = await encrypt({ requestId, node, model: input.model, maxNewTokens: input.maxNewTokens, messages: input.messages, primary: purpose === 'primary' });
      }

      if (purpose === 'primary') enter('05 Dispatch');
      let result: DispatchResult;
      try {
        result = await dispatchTo(node.nodeId, settings, purpose).executeInference(dispatch);
      } catch (error) {
        const type = failureType(error);
        if (type && isRequestInputFailure(type)) {
          if (!hasPatch(NODE_REFUSAL_CHECKED)) throw error;
          const verdict = await checkRefusal({ nodeId: node.nodeId, type, maxNewTokens: input.maxNewTokens, promptTokens: accepted.promptTokens });
          if (verdict === 'agree') throw error;
          if (verdict === 'disagree') await penaliseNode({ nodeId: node.nodeId, requestId, reason: 'FALSE_REFUSAL' });
          else unchecked.push(error);
          log.warn('node refused a request the coordinator accepted; re-matching', { requestId, nodeId: node.nodeId, failure: type });
          continue;
        }
        log.warn('dispatch failed; re-matching', { requestId, nodeId: node.nodeId, failure: type ?? 'timeout or crash' });
        continue;
      }

      if (purpose === 'primary') enter('10 Verify sig');
      const verdict: VerifyOutcome = await verifyResult({
        requestId,
        nodeId: node.nodeId,
        maxNewTokens: input.maxNewTokens,
        result,
        sealedTo: dispatch.replyToBoxPublicKey,
        model: input.model,
        promptTokenBound: accepted.promptTokenBound,
        ...(accepted.promptTokens === undefined ? {} : { promptTokens: accepted.promptTokens }),
      }).catch(
        (error: unknown) => {
          // This process cannot open a result sealed to another coordinator's key (a misconfigured fleet): a plain
          // error fails the workflow task, which Temporal retries, reaching a process that holds the key. The
          // request is neither failed nor blamed on the node.
          if (failureType(error) === FailureType.COORDINATOR_KEY_MISMATCH) throw new Error('coordinator key mismatch: retrying the workflow task elsewhere');
          throw error;
        },
      );
      if (!verdict.ok) {
        await penaliseNode({ nodeId: node.nodeId, requestId, reason: verdict.reason });
        continue;
      }
      return { node, result, text: verdict.text, tokenIds: verdict.tokenIds };
    }
    // Every node tried refused the request the same way, and the coordinator had no count to say otherwise.
    const refusal = unanimousRefusal(budget);
    if (refusal) throw refusal;
    throw applicationFailure(FailureType.ALL_NODES_FAILED, `no node completed ${purpose} execution after ${budget} attempt(s)`);
  };

  /**
   * Step 11, tolerant mode: a node of the claim's model and dtype (not its author, none already used) scores the
   * claimed tokens in one forward pass; the coordinator judges the signed score. A node that fails to answer, or
   * answers with an invalid score, is penalised and another one is tried.
   */
  const scoreOnSomeNode = async (claim: Execution, exclude: string[], budget: number): Promise<Scored> => {
    for (let attempt = 0; attempt < budget; attempt += 1) {
      const node = await phase.sample.match({
        requestId,
        model: input.model,
        dtype: claim.node.dtype,
        maxNewTokens: input.maxNewTokens,
        exclude: [...exclude, claim.node.nodeId, ...spent()],
      });
      tried(node.nodeId);
      const scoreInput = await sealClaim({
        requestId,
        node,
        claimedNodeId: claim.node.nodeId,
        model: input.model,
        maxNewTokens: input.maxNewTokens,
        messages: input.messages,
        claim: { text: claim.text, tokenIds: claim.tokenIds },
      });
      let scored: ScoreResult;
      try {
        scored = await scoreOn(node.nodeId, settings).scoreClaim(scoreInput);
      } catch (error) {
        log.warn('scoring failed; matching another scorer', { requestId, nodeId: node.nodeId, failure: failureType(error) ?? 'timeout or crash' });
        continue;
      }
      const judged: JudgeScoreOutcome = await judgeScore({
        requestId,
        nodeId: node.nodeId,
        claimedNodeId: claim.node.nodeId,
        claimPoe: claim.result.poe,
        maxNewTokens: input.maxNewTokens,
        thresholds: settings.tolerantThresholds,
        result: scored,
      });
      if (!judged.valid) {
        await phase.sample.penaliseNode({ nodeId: node.nodeId, requestId, reason: judged.reason });
        continue;
      }
      scorers.add(node.nodeId);
      const { score } = judged;
      return {
        node,
        pass: judged.pass,
        score: { positions: score.positions, failing: score.failing, longestFailRun: score.longestFailRun, maxGap: score.maxGap },
        scoredTokens: scored.report.inputTokens + score.positions,
      };
    }
    throw applicationFailure(FailureType.ALL_NODES_FAILED, `no node completed a tolerant check after ${budget} attempt(s)`);
  };

  let primary: Execution;
  try {
    primary = await executeOnSomeNode('primary', [], settings.maxNodesTried);
  } catch (error) {
    failWorkflowTaskOn(error);
    await compensate(failureType(error) ?? 'dispatch failed');
    throw unwrap(error);
  }

  // 11 Sample: with probability p (deterministic in replay), check node_i's result on another node of the same model
  // and dtype: tolerant (score node_i's tokens in one forward pass) or exact (re-generate and compare bytes).
  // Drawn before the step's upsert (one draw, where it always was in the run's sequence): a run that does not sample
  // goes straight on to 12, so its 11 is never seen.
  const sampled = Math.random() < settings.sampleProbability;
  enter('11 Sample', sampled);
  const sampling: SampleRun = {
    requestId,
    primary,
    execute: (exclude) => executeOnSomeNode('sample', exclude, settings.maxNodesTried, primary.node.dtype),
    score: (claim, exclude) => scoreOnSomeNode(claim, exclude, settings.maxNodesTried),
    compensate,
    released: () => released,
    hasPatch,
  };
  const { delivered, verdict, paired, mode, check, dispute, verifiers, sampledNodeIds } = await sampleAndDecide(sampling, settings, sampled);
  note([{ key: VERDICT, value: verdict }]);

  // 12 Anchor: the record goes on chain before anyone is paid; the receipt is awaited inside the activity.
  enter('12 Anchor');
  const anchorInput: AnchorInput = {
    requestId,
    nodeId: delivered.node.nodeId,
    poe: delivered.result.poe,
    verdict,
    sampledNodeId: paired ? paired.nodeId : null,
    mode,
    nodeDevice: delivered.node.device ?? delivered.result.device,
    sampledNodeDevice: paired ? paired.device : null,
    check,
    dispute,
    signature: delivered.result.signature,
  };
  /**
   * The chain (or the coordinator's database) stayed unreachable through every retry. The work is verified: the
   * run keeps the hold and tries again, waking up less and less often (15 s doubling to 10 min), for up to
   * settings.anchorWaitSeconds (default 24 h). PipelineStep reads ANCHOR_WAITING_STEP meanwhile and an error is
   * logged, so the outage alerts. The anchor activity is idempotent (the contract refuses a second record, and the
   * activity then reads the first), so a record that did reach the chain is found, not written twice. Only past the
   * bound is the hold released.
   */
  const waitForChain = async (first: unknown): Promise<AnchorOutput> => {
    const boundMs = (settings.anchorWaitSeconds ?? DEFAULT_ANCHOR_WAIT_SECONDS) * 1000;
    const since = Date.now();
    enter(ANCHOR_WAITING_STEP);
    log.error('anchor retries exhausted: the run waits for the chain and keeps the hold of its verified work', {
      requestId,
      failure: failureType(first) ?? 'timeout',
      waitSeconds: boundMs / 1000,
    });
    for (let wakeMs = ANCHOR_WAKE_FIRST_MS; ; wakeMs = Math.min(wakeMs * 2, ANCHOR_WAKE_MAX_MS)) {
      await sleep(Math.max(1, Math.min(wakeMs, boundMs - (Date.now() - since))));
      try {
        const anchored = await anchorWhileWaiting(anchorInput);
        log.info('chain reachable again: record anchored after waiting', { requestId, waitedSeconds: Math.round((Date.now() - since) / 1000) });
        return anchored;
      } catch (error) {
        failWorkflowTaskOn(error);
        if (isRefusal(error) || Date.now() - since >= boundMs) throw error;
      }
    }
  };
  const settleInput = { requestId, nodeId: delivered.node.nodeId, usage: delivered.result.usage, verifiers };
  let anchor: AnchorOutput;
  /** Set when 12 · 13 · 14 ran as one local activity (ANCHOR_AND_SETTLE). */
  let settledWithAnchor: SettleOutput | null;
  try {
    const anchorAlone = async (): Promise<AnchorOutput> => {
      try {
        return await anchorWithRetries(settings.anchorAttempts ?? 20)(anchorInput);
      } catch (error) {
        failWorkflowTaskOn(error);
        if (isRefusal(error) || !hasPatch(ANCHOR_WAITS_FOR_CHAIN)) throw error;
        return waitForChain(error);
      }
    };
    const anchorSteps = async (): Promise<{ anchor: AnchorOutput; settled: SettleOutput | null }> => {
      if (anchorAndSettleTogether) {
        const both = await anchorAndSettle({ anchor: anchorInput, settle: { ...settleInput, returned: true } }).catch((error: unknown) => {
          failWorkflowTaskOn(error);
          log.warn('anchor and settle in one step failed; anchoring and settling apart', { requestId, failure: failureType(error) ?? 'timeout' });
          return null;
        });
        if (both) return both;
      }
      return { anchor: await anchorAlone(), settled: null };
    };
    // A cancel once the anchor is under way is too late: the record may be landing on chain, so the anchor (and its
    // wait for the chain) is not cancelled (an abandoned attempt would race a second one for the same record and
    // account) and the run then returns and settles; nothing anchored is released.
    ({ anchor, settled: settledWithAnchor } = await (hasPatch(RELEASE_ON_EVERY_EXIT) ? CancellationScope.nonCancellable(anchorSteps) : anchorSteps()));
  } catch (error) {
    await compensate('anchor failed');
    throw unwrap(error);
  }

  // 13 Return result: the verified text becomes readable through the result query (the SDK streams it).
  enter('13 Return result', false);
  resultText = delivered.text;
  state.resultAvailable = true;
  let settled: SettleOutput;
  if (settledWithAnchor) {
    enter('14 Settle', false);
    settled = settledWithAnchor;
  } else if (fewerEvents) {
    // 13's row update commits with 14 (the result is readable already); past the anchor nothing cancels either.
    enter('14 Settle');
    settled = await CancellationScope.nonCancellable(() => returnAndSettle({ ...settleInput, returned: true }));
  } else {
    const returned = { requestId, step: 13, status: 'RETURNED' as const, usage: delivered.result.usage };
    await recordReturn(returned).catch((error: unknown) => {
      // Past the anchor a cancel is too late (the record is on chain): the return is recorded and the run settles.
      if (isCancellation(error) && hasPatch(RELEASE_ON_EVERY_EXIT)) return CancellationScope.nonCancellable(() => recordReturn(returned));
      throw error;
    });
    // 14 Settle: capture the metered cost, release the rest, reward the delivering node by uptime.
    enter('14 Settle');
    settled = await CancellationScope.nonCancellable(() => settle(settleInput));
  }
  state.step = 'Done';

  return {
    requestId,
    text: delivered.text,
    usage: delivered.result.usage,
    finishReason: delivered.result.finishReason,
    nodeId: delivered.node.nodeId,
    poe: delivered.result.poe,
    signature: delivered.result.signature,
    sampled: sampledNodeIds.length > 0,
    sampledNodeIds,
    verdict,
    mode,
    ...(check ? { check } : {}),
    ...(dispute ? { dispute } : {}),
    anchorTx: anchor.txHash,
    anchorBlock: anchor.blockNumber,
    creditsCharged: settled.charged,
  };
}

/** What step 11 needs of its run. */
interface SampleRun {
  requestId: string;
  /** node_i's execution: the claim under check. */
  primary: Execution;
  /** Steps 03–10 under step 11's names on a node of node_i's model and dtype, none of `exclude`. */
  execute(exclude: string[]): Promise<Execution>;
  /** A tolerant check of `claim` by a node that is not its author, none of `exclude`. */
  score(claim: Execution, exclude: string[]): Promise<Scored>;
  /** The compensation: gives the hold back (once). */
  compensate(reason: string): Promise<void>;
  released(): boolean;
  hasPatch: HasPatch;
}

/** Step 11's outcome: the execution delivered, the verdict, and what the anchor and the settlement record of it. */
interface SampleDecision {
  delivered: Execution;
  verdict: VerdictName;
  mode: RecordMode;
  /** The node anchored beside the deliverer (sampledNodeId): node_j, or node_i when the majority overruled it. */
  paired: MatchedNode | null;
  check: RecordScore | null;
  dispute: RecordScore | null;
  /** Tolerant mode: the nodes whose valid checks stand, rewarded by their scored tokens at settlement. */
  verifiers: Array<{ nodeId: string; scoredTokens: number }>;
  sampledNodeIds: string[];
}

/** Not sampled, or the sample was skipped: node_i's result stands unchecked. */
const unchecked = (primary: Execution): SampleDecision => ({
  delivered: primary,
  verdict: 'Accepted',
  mode: 'none',
  paired: null,
  check: null,
  dispute: null,
  verifiers: [],
  sampledNodeIds: [],
});

const verifier = (scored: Scored) => ({ nodeId: scored.node.nodeId, scoredTokens: scored.scoredTokens });

/**
 * Step 11. Compensation is explicit at each exit: a sample that finds no node to check with is skipped; a dispute
 * left unresolved, no majority, or a failure of the bookkeeping (record, penalise) gives the hold back before the
 * run fails. Nothing reaches the user unless a majority stands behind it.
 */
async function sampleAndDecide(run: SampleRun, settings: PipelineSettings, sampled: boolean): Promise<SampleDecision> {
  if (!sampled) return unchecked(run.primary);
  // Runs started before tolerant mode existed carry no sampleMode: they keep the exact check they started with.
  const decision = await ((settings.sampleMode ?? 'exact') === 'tolerant' ? checkTolerant(run) : checkExact(run));
  if (decision.mode !== 'none') await orRelease(run, recordSample({ requestId: run.requestId, step: 11, status: 'SAMPLED' }));
  return decision;
}

/** Tolerant mode: node_j scores node_i's claim; on a failed check a third node scores it and the majority decides. */
async function checkTolerant(run: SampleRun): Promise<SampleDecision> {
  const { requestId, primary } = run;
  const first = await orSkip(run, run.score(primary, []));
  if (!first) {
    log.warn('sample skipped: no node could score the claim', { requestId });
    return unchecked(primary);
  }
  const tolerant = { mode: 'tolerant' as const, check: first.score, sampledNodeIds: [first.node.nodeId] };
  if (first.pass) return { ...tolerant, delivered: primary, verdict: 'AcceptedSampledAgree', paired: first.node, dispute: null, verifiers: [verifier(first)] };

  // The check failed: a third node scores the same claim and the majority decides.
  const second = await run.score(primary, [first.node.nodeId]).catch((error: unknown) =>
    unresolved(run, error, 'the tolerant check failed and no third node could score the claim'),
  );
  tolerant.sampledNodeIds.push(second.node.nodeId);
  if (second.pass) {
    await orRelease(run, penaliseLoser({ nodeId: first.node.nodeId, requestId, reason: 'SAMPLE_DISAGREEMENT' }));
    return { ...tolerant, delivered: primary, verdict: 'AcceptedDisputeUpheld', paired: first.node, dispute: second.score, verifiers: [verifier(second)] };
  }

  // Two nodes rejected node_i's answer: penalise it and deliver an answer made elsewhere, itself checked.
  await orRelease(run, penaliseLoser({ nodeId: primary.node.nodeId, requestId, reason: 'SAMPLE_DISAGREEMENT' }));
  const replacement = await run.execute([primary.node.nodeId]).catch((error: unknown) =>
    unresolved(run, error, 'node_i was overruled and no other node could answer'),
  );
  const confirm = await run.score(replacement, [primary.node.nodeId]).catch((error: unknown) =>
    unresolved(run, error, 'node_i was overruled and no node could check the replacement answer'),
  );
  if (!confirm.pass) {
    await run.compensate('no majority');
    throw applicationFailure(FailureType.NO_MAJORITY, 'node_i was overruled and the replacement answer failed its check too');
  }
  for (const node of [replacement.node, confirm.node]) {
    if (!tolerant.sampledNodeIds.includes(node.nodeId)) tolerant.sampledNodeIds.push(node.nodeId);
  }
  return {
    ...tolerant,
    delivered: replacement,
    verdict: 'MajorityOverruled',
    paired: primary.node,
    dispute: second.score,
    verifiers: [first, second, confirm].filter((s) => s.node.nodeId !== replacement.node.nodeId).map(verifier),
  };
}

/** Exact mode: node_j re-generates; on a different text a third node re-generates and the majority decides. */
async function checkExact(run: SampleRun): Promise<SampleDecision> {
  const { requestId, primary } = run;
  const second = await orSkip(run, run.execute([primary.node.nodeId]));
  if (!second) {
    log.warn('sample skipped: no second node could run it', { requestId });
    return unchecked(primary);
  }
  const exact = { mode: 'exact' as const, check: null, dispute: null, verifiers: [], sampledNodeIds: [second.node.nodeId] };
  if (second.text === primary.text) return { ...exact, delivered: primary, verdict: 'AcceptedSampledAgree', paired: second.node };

  // Disagreement: a third node decides by majority. Unresolved, nothing reaches the user and the hold is released.
  const third = await run.execute([primary.node.nodeId, second.node.nodeId]).catch((error: unknown) =>
    unresolved(run, error, 'node results disagree and no third node could decide'),
  );
  exact.sampledNodeIds.push(third.node.nodeId);
  if (third.text === primary.text) {
    await orRelease(run, penaliseLoser({ nodeId: second.node.nodeId, requestId, reason: 'SAMPLE_DISAGREEMENT' }));
    return { ...exact, delivered: primary, verdict: 'AcceptedDisputeUpheld', paired: second.node };
  }
  if (third.text === second.text) {
    // The majority overrules node_i: the user gets node_j's result, node_i is penalised and not rewarded.
    await orRelease(run, penaliseLoser({ nodeId: primary.node.nodeId, requestId, reason: 'SAMPLE_DISAGREEMENT' }));
    return { ...exact, delivered: second, verdict: 'MajorityOverruled', paired: primary.node };
  }
  await run.compensate('no majority');
  throw applicationFailure(FailureType.NO_MAJORITY, 'three nodes returned three different results');
}

/** A sample-phase failure: no node to check with means the check is skipped; anything else releases the hold and fails the request. */
async function orSkip<T>(run: SampleRun, work: Promise<T>): Promise<T | null> {
  return work.catch((error: unknown) => {
    failWorkflowTaskOn(error);
    const type = failureType(error);
    if (type === FailureType.NO_CAPABLE_NODE || type === FailureType.ALL_NODES_FAILED) return null;
    return run.compensate(type ?? 'sampling failed').then(() => {
      throw unwrap(error);
    });
  });
}

/** Step 11's bookkeeping (record, penalise): a failure or a cancel there ends the run, so the hold goes back first. */
async function orRelease<T>(run: SampleRun, work: Promise<T>): Promise<T> {
  return work.catch(async (error: unknown) => {
    failWorkflowTaskOn(error);
    if (!run.released() && run.hasPatch(RELEASE_ON_EVERY_EXIT)) {
      await run.compensate(isCancellation(error) ? 'cancelled' : (failureType(error) ?? 'sampling failed'));
      throw unwrap(error);
    }
    throw error;
  });
}

/** A dispute no further node could decide: the hold goes back and the request fails. */
async function unresolved(run: SampleRun, error: unknown, message: string): Promise<never> {
  failWorkflowTaskOn(error);
  await run.compensate('dispute unresolved: no third node');
  throw applicationFailure(FailureType.DISPUTE_UNRESOLVED, message, failureType(error) ?? 'failed');
}

/** Step 11's scoring activity on a node's own task queue (tolerant mode): one forward pass, heartbeating. */
function scoreOn(nodeId: string, settings: PipelineSettings) {
  return proxyActivities<Pick<OperatorActivities, 'scoreClaim'>>({
    taskQueue: nodeTaskQueue(nodeId),
    summary: `11 Sample · score claim on ${nodeId}`,
    scheduleToStartTimeout: settings.dispatchScheduleToStartSeconds * 1000,
    startToCloseTimeout: settings.dispatchTimeoutSeconds * 1000,
    heartbeatTimeout: settings.dispatchHeartbeatSeconds * 1000,
    retry: { maximumAttempts: 1 },
  });
}

/** Step 05's activity proxy for one node's own task queue; steps 06–09 run inside it, on the node. */
function dispatchTo(nodeId: string, settings: PipelineSettings, purpose: 'primary' | 'sample') {
  return proxyActivities<Pick<OperatorActivities, 'executeInference'>>({
    taskQueue: nodeTaskQueue(nodeId),
    summary: `${purpose === 'primary' ? '05 Dispatch' : '11 Sample · dispatch'} → 06 Decrypt · 07 Execute · 08 PoE · 09 Return on ${nodeId}`,
    scheduleToStartTimeout: settings.dispatchScheduleToStartSeconds * 1000,
    startToCloseTimeout: settings.dispatchTimeoutSeconds * 1000,
    heartbeatTimeout: settings.dispatchHeartbeatSeconds * 1000,
    // A failed node is not retried: the workflow re-matches another one.
    retry: { maximumAttempts: 1 },
  });
}

/**
 * A plain Error (not a TemporalFailure) is a bug or a misconfigured coordinator process, not an outcome of the
 * request: rethrown, it fails the workflow task, which Temporal retries (possibly on another process) from the last
 * recorded step. No compensation runs for it: nothing may be released for a request that is still going.
 */
function failWorkflowTaskOn(error: unknown): void {
  if (!(error instanceof TemporalFailure)) throw error;
}

/** A failure that waiting cannot cure: the activity marked it non-retryable (e.g. the chain refused the record). */
function isRefusal(error: unknown): boolean {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return failure instanceof ApplicationFailure && failure.nonRetryable === true;
}

/** Step 01's refusals (the input is not authentic or not acceptable): nothing is held when they come. */
function isRefusedRequest(error: unknown): boolean {
  const type = failureType(error);
  return type === FailureType.INVALID_INPUT || type === FailureType.REQUEST_NOT_AUTHENTIC;
}

function failureType(error: unknown): string | undefined {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return failure instanceof ApplicationFailure ? (failure.type ?? undefined) : undefined;
}

/** The client sees the typed ApplicationFailure (INSUFFICIENT_CREDITS, NO_CAPABLE_NODE, …), not its wrapper. */
function unwrap(error: unknown): unknown {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? asWorkflowFailure(error.cause) : error;
}
