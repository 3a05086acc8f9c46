import { ActivityFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { continueAsNew, log, patched, proxyActivities, sleep, upsertSearchAttributes, uuid4 } from '@temporalio/workflow';
import type { RegistrationActivities } from '../activities/register-node.js';
import type { NodeHealthSettings } from '../src/policy/node-health-settings.js';
import type { OperatorActivities } from '../src/operator/activities.js';
import { OPERATOR_WIRE } from '../src/protocol/operator-wire.js';
import { nodeHealthTaskQueue } from '../src/protocol/task-queues.js';

export const NODE_ID_SEARCH_ATTRIBUTE = defineSearchAttributeKey('NodeId', SearchAttributeType.KEYWORD);

export interface NodeHealthInput {
  nodeId: string;
  settings: NodeHealthSettings;
  /** Carried across continue-as-new. */
  consecutiveFailures?: number;
}

export type NodeHealthOutcome = 'node-unregistered' | 'node-retired' | 'node-down-too-long';

/** Patch id: probes carry a fresh challenge the node signs, checked by recordHealthSample (runs from before: unsigned). */
export const SIGNED_HEALTH_PATCH = 'signed-health-probe';

/**
 * One per node (workflow id `node-health-<nodeId>`): probes the node's health queue every interval and records
 * up/down with latency. A node that stopped polling fails the probe at schedule-to-start (never retried).
 */
export async function nodeHealthWorkflow(input: NodeHealthInput): Promise<NodeHealthOutcome> {
  const { nodeId, settings } = input;
  upsertSearchAttributes([{ key: NODE_ID_SEARCH_ATTRIBUTE, value: nodeId }]);
  const { probe } = proxyActivities<Pick<OperatorActivities, 'probe'>>({
    taskQueue: nodeHealthTaskQueue(nodeId),
    scheduleToStartTimeout: settings.probeScheduleToStartMs,
    startToCloseTimeout: settings.probeStartToCloseMs,
    retry: { maximumAttempts: 1 },
  });
  const { recordHealthSample } = proxyActivities<Pick<RegistrationActivities, 'recordHealthSample'>>({
    startToCloseTimeout: '10 seconds',
    retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 10 },
  });

  let failures = input.consecutiveFailures ?? 0;
  for (let i = 0; i < settings.probesPerRun; i += 1) {
    // Workflow time is deterministic (replayed from history); the latency includes Temporal's matching.
    const started = Date.now();
    const signed = patched(SIGNED_HEALTH_PATCH);
    // uuid4() is deterministic in workflow code (seeded from history): the same challenge on replay.
    const challenge = signed ? uuid4() : undefined;
    let up = false;
    let signature: string | undefined;
    try {
      const result = challenge === undefined ? await probe() : await probe({ wire: OPERATOR_WIRE, nodeId, challenge });
      up = result?.wire === OPERATOR_WIRE && result.nodeId === nodeId;
      signature = typeof result?.signature === 'string' ? result.signature : undefined;
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
    }
    const latencyMs = up ? Date.now() - started : null;
    // A signed answer counts as up only once recordHealthSample checked its signature against the node's key.
    if (!signed) failures = up ? 0 : failures + 1;
    else if (!up) failures += 1;
    const failuresIfDown = signed && up ? failures + 1 : failures;
    try {
      const { status, up: counted } = await recordHealthSample({
        nodeId,
        up,
        latencyMs,
        at: new Date(started).toISOString(),
        markOffline: failuresIfDown >= settings.offlineAfterFailures,
        ...(challenge !== undefined ? { probe: { challenge, signature: signature ?? null } } : {}),
      });
      if (signed && up) failures = counted ? 0 : failuresIfDown;
      if (status === null) return 'node-unregistered';
      if (status === 'RETIRED') return 'node-retired';
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      if (signed && up) failures = failuresIfDown; // not checked: not counted as up
      log.warn('health sample not recorded', { nodeId, up });
    }
    if (failures >= settings.stopAfterFailures) return 'node-down-too-long';
    await sleep(Math.max(0, settings.intervalMs - (Date.now() - started)));
  }
  return continueAsNew<typeof nodeHealthWorkflow>({ nodeId, settings, consecutiveFailures: failures });
}
