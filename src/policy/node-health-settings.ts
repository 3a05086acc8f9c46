/**
 * Settings of the per-node health monitor (workflows/node-health-workflow.ts). Pure data, so workflow
 * code can import it. The coordinator chooses them (registration activity options), never the operator.
 */
export interface NodeHealthSettings {
  /** Time between probe starts. */
  intervalMs: number;
  /** How long a probe may wait for the node to pick it up; a node that stopped polling fails here. */
  probeScheduleToStartMs: number;
  /** How long a picked-up probe may run. */
  probeStartToCloseMs: number;
  /** Consecutive failed probes after which the node is marked OFFLINE (excluded by matching). */
  offlineAfterFailures: number;
  /** Consecutive failed probes after which the monitor ends; the node's next announcement restarts it. */
  stopAfterFailures: number;
  /** Probes per workflow run before continue-as-new, which bounds the history. */
  probesPerRun: number;
}

export const DEFAULT_NODE_HEALTH_SETTINGS: NodeHealthSettings = {
  intervalMs: 10_000,
  probeScheduleToStartMs: 5_000,
  probeStartToCloseMs: 5_000,
  offlineAfterFailures: 3,
  stopAfterFailures: 8_640, // about a day at the default interval
  probesPerRun: 200,
};
