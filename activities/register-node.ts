import { NodeStatus, Prisma, type PrismaClient } from '../src/db/client.js';
import { InvalidAnnouncementError, verifyAnnouncement, verifyHealthProbe, type OperatorAnnouncement } from '../src/crypto/index.js';
import { NodeNotAdmittedError } from '../src/policy/errors.js';
import { readNodeAllowlist } from '../src/policy/node-admission.js';
import { DEFAULT_NODE_HEALTH_SETTINGS, type NodeHealthSettings } from '../src/policy/node-health-settings.js';
import { OPERATOR_WIRE, type RegistrationInput } from '../src/protocol/operator-wire.js';
import { nodeHealthTaskQueue, nodeTaskQueue } from '../src/protocol/task-queues.js';
import { applicationFailure, FailureType, toApplicationFailure } from '../src/protocol/failures.js';
import type { Logger } from '../src/shared/logger.js';

export interface RegistrationActivitiesOptions {
  db: PrismaClient;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The coordinator's X25519 public key (base64) returned to operators; results are sealed to it. */
  coordinatorBoxPublicKey: string;
  /** The coordinator's Ed25519 public key (base64) returned to operators, who pin it and run only what it signed. */
  coordinatorSignPublicKey: string;
  /** Announcements older than this are refused (replays). Default 10 minutes. */
  maxAnnouncementAgeMs?: number;
  /** Health monitor settings handed to the registration workflow. */
  health?: Partial<NodeHealthSettings>;
  /** Node ids on this file register ACTIVE; any other new node registers PENDING until approved (node-admission.ts). */
  allowlistFile?: string | null;
}

/** What registerNode hands the registration workflow. */
export interface NodeRegistration {
  nodeId: string;
  taskQueue: string;
  healthTaskQueue: string;
  coordinatorBoxPublicKey: string;
  coordinatorSignPublicKey: string;
  /** false when a newer announcement of this node was already stored (this one changed nothing). */
  applied: boolean;
  /** ACTIVE, or PENDING while the node awaits approval (it is probed, never matched). */
  status: NodeStatus;
  health: NodeHealthSettings;
}

export interface HealthSampleInput {
  nodeId: string;
  up: boolean;
  /** Probe round trip; null when the probe failed. */
  latencyMs: number | null;
  /** ISO-8601 time of the probe; with nodeId it identifies the sample, so a retried call records it once. */
  at: string;
  /** Mark an ACTIVE node OFFLINE (too many consecutive failed probes). An up sample brings OFFLINE back to ACTIVE. */
  markOffline?: boolean;
  /**
   * The probe's challenge and the node's signature over it (signed health). Checked against the node's registered
   * key: a missing or invalid signature makes the sample down. Absent only in health runs from before signed probes.
   */
  probe?: { challenge: string; signature: string | null };
}

export interface HealthSampleOutcome {
  /** The node's status after this sample; null when the node is not registered (the monitor should end). */
  status: NodeStatus | null;
  /** Whether the sample was recorded as up (a signed probe: only with a valid signature). */
  up: boolean;
}

export interface RegistrationActivities {
  registerNode(input: RegistrationInput): Promise<NodeRegistration>;
  recordHealthSample(input: HealthSampleInput): Promise<HealthSampleOutcome>;
}

function verify(input: RegistrationInput, maxAgeMs: number): OperatorAnnouncement {
  try {
    if (input?.wire !== OPERATOR_WIRE) throw new InvalidAnnouncementError('Registration is not an operator wire message');
    return verifyAnnouncement(input.announcement, { maxAgeMs });
  } catch (error) {
    if (error instanceof InvalidAnnouncementError) throw toApplicationFailure(error);
    throw error;
  }
}

export function createRegistrationActivities(options: RegistrationActivitiesOptions): RegistrationActivities {
  const { db, logger, coordinatorBoxPublicKey, coordinatorSignPublicKey } = options;
  const maxAgeMs = options.maxAnnouncementAgeMs ?? 10 * 60_000;
  const health: NodeHealthSettings = { ...DEFAULT_NODE_HEALTH_SETTINGS, ...options.health };

  return {
    async registerNode(input) {
      const announcement = verify(input, maxAgeMs);
      const { nodeId, signPublicKey, boxPublicKey, capabilities } = announcement;
      const announcedAt = new Date(announcement.announcedAt);
      const allowlisted = (await readNodeAllowlist(options.allowlistFile ?? null)).has(nodeId);
      const { applied, status } = await db.$transaction(async (tx) => {
        const existing = await tx.node.findUnique({ where: { nodeId } });
        if (existing && (existing.status === NodeStatus.SUSPENDED || existing.status === NodeStatus.RETIRED)) {
          throw toApplicationFailure(new NodeNotAdmittedError(`Node ${nodeId} is ${existing.status.toLowerCase()} and cannot re-register`));
        }
        // nodeId derives from the sign key, so the key is fixed; only a newer signed announcement may change the rest.
        if (existing && existing.lastAnnouncedAt.getTime() > announcedAt.getTime()) return { applied: false, status: existing.status };
        // A new node waits for approval unless allowlisted; an approved one announcing again is up (ACTIVE).
        const pending = !allowlisted && (!existing || existing.status === NodeStatus.PENDING);
        const status = pending ? NodeStatus.PENDING : NodeStatus.ACTIVE;
        const data = {
          boxPublicKey,
          capabilities: capabilities as unknown as Prisma.InputJsonValue,
          status,
          lastAnnouncedAt: announcedAt,
        };
        await tx.node.upsert({ where: { nodeId }, create: { nodeId, signPublicKey, ...data }, update: data });
        return { applied: true, status };
      });
      logger.info({ nodeId, applied, status, models: capabilities.models, device: capabilities.device }, status === NodeStatus.PENDING ? 'node registered; awaiting approval (parallelix nodes approve)' : 'node registered');
      return {
        nodeId,
        taskQueue: nodeTaskQueue(nodeId),
        healthTaskQueue: nodeHealthTaskQueue(nodeId),
        coordinatorBoxPublicKey,
        coordinatorSignPublicKey,
        applied,
        status,
        health,
      };
    },

    async recordHealthSample({ nodeId, up: answered, latencyMs: answeredMs, at, markOffline, probe }) {
      const when = new Date(at);
      if (Number.isNaN(when.getTime())) throw applicationFailure(FailureType.INVALID_INPUT, 'at must be an ISO-8601 time');
      return db.$transaction(async (tx) => {
        const node = await tx.node.findUnique({ where: { nodeId }, select: { status: true, signPublicKey: true } });
        if (!node) return { status: null, up: false };
        // Signed health: only the node's own key answers its challenge (a forged or replayed answer is down).
        const verified = !probe || (answered && verifyHealthProbe(nodeId, probe.challenge, probe.signature, node.signPublicKey));
        if (probe && answered && !verified) logger.warn({ nodeId }, 'health probe answered without a valid signature: counted as down');
        const up = answered && verified;
        const latencyMs = up ? answeredMs : null;
        const seen = await tx.healthSample.findFirst({ where: { nodeId, at: when }, select: { id: true } });
        if (!seen) await tx.healthSample.create({ data: { nodeId, at: when, up, latencyMs: latencyMs === null ? null : Math.round(latencyMs) } });
        let status = node.status;
        if (up && status === NodeStatus.OFFLINE) status = NodeStatus.ACTIVE;
        else if (!up && markOffline && status === NodeStatus.ACTIVE) status = NodeStatus.OFFLINE;
        if (status !== node.status) {
          await tx.node.update({ where: { nodeId }, data: { status } });
          logger.info({ nodeId, status }, 'node status changed by health probe');
        }
        return { status, up };
      });
    },
  };
}
