import { ActivityFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { continueAsNew, log, proxyActivities, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { RegistrationActivities } from '../activities/register-node.js';
import type { NodeHealthSettings } from '../src/coordinator/node-health-settings.js';
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
    let up = false;
    try {
      const result = await probe();
      up = result?.wire === OPERATOR_WIRE && result.nodeId === nodeId;
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
    }
    const latencyMs = up ? Date.now() - started : null;
    failures = up ? 0 : failures + 1;
    try {
      const { status } = await recordHealthSample({
        nodeId,
        up,
        latencyMs,
        at: new Date(started).toISOString(),
        markOffline: failures >= settings.offlineAfterFailures,
      });
      if (status === null) return 'node-unregistered';
      if (status === 'RETIRED') return 'node-retired';
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      log.warn('health sample not recorded', { nodeId, up });
    }
    if (failures >= settings.stopAfterFailures) return 'node-down-too-long';
    await sleep(Math.max(0, settings.intervalMs - (Date.now() - started)));
  }
  return continueAsNew<typeof nodeHealthWorkflow>({ nodeId, settings, consecutiveFailures: failures });
}
