import type { OperatorCapabilities } from '../../crypto/announcement.js';
import { nodeUptimes } from '../../policy/uptime.js';
import { openDatabase } from '../../config/connections.js';
import { say } from '../output.js';
import { printTable } from '../table.js';
import { withSpinner } from '../spinner.js';
import { loadCoordinatorPolicy } from '../../policy/coordinator-policy.js';
import { approveNode, suspendNode } from '../../policy/node-admission.js';

export interface NodeRow {
  nodeId: string;
  signPublicKey: string;
  boxPublicKey: string;
  capabilities: OperatorCapabilities;
  status: string;
  /** Fraction of health probes answered over the window; null before the first probe. */
  uptime: number | null;
  uptimeWindowSeconds: number;
  /** Sum of reward weight earned (micro-units), as a decimal string. */
  rewardWeight: string;
  rewardedRequests: number;
  penaltyCount: number;
  reputation: number;
  registeredAt: string;
  lastAnnouncedAt: string;
}

const short = (key: string): string => (key.length > 12 ? `${key.slice(0, 10)}…` : key);

/** `parallelix nodes list`: registered operator nodes with health, rewards and penalties. */
export async function nodesListCommand(flags: { json?: boolean }): Promise<void> {
  // The window match and settle use (PARALLELIX_UPTIME_WINDOW_SECONDS), from the coordinator's policy.
  const windowSeconds = loadCoordinatorPolicy().uptimeWindowMs / 1000;
  const db = openDatabase();
  try {
    const rows = await withSpinner('reading nodes', async (): Promise<NodeRow[]> => {
      const nodes = await db.node.findMany({ orderBy: { registeredAt: 'asc' } });
      const ids = nodes.map((n) => n.nodeId);
      const uptimes = await nodeUptimes(db, ids, windowSeconds * 1000);
      const rewards = await db.rewardLedgerEntry.groupBy({ by: ['nodeId'], where: { nodeId: { in: ids } }, _sum: { weight: true }, _count: { _all: true } });
      const penalties = await db.nodePenalty.groupBy({ by: ['nodeId'], where: { nodeId: { in: ids } }, _count: { _all: true } });
      return nodes.map((n) => {
        const reward = rewards.find((r) => r.nodeId === n.nodeId);
        const penalty = penalties.find((p) => p.nodeId === n.nodeId);
        return {
          nodeId: n.nodeId,
          signPublicKey: n.signPublicKey,
          boxPublicKey: n.boxPublicKey,
          capabilities: n.capabilities as unknown as OperatorCapabilities,
          status: n.status,
          uptime: uptimes.get(n.nodeId) ?? null,
          uptimeWindowSeconds: windowSeconds,
          rewardWeight: (reward?._sum.weight ?? 0n).toString(),
          rewardedRequests: reward?._count._all ?? 0,
          // The ledger is the truth; the counter on the node row is kept in step with it.
          penaltyCount: Math.max(penalty?._count._all ?? 0, n.penaltyCount),
          reputation: n.reputation,
          registeredAt: n.registeredAt.toISOString(),
          lastAnnouncedAt: n.lastAnnouncedAt.toISOString(),
        };
      });
    }, flags);
    if (flags.json) {
      say(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) {
      say('no operator nodes registered');
      return;
    }
    const table = rows.map((r) => [
      r.nodeId,
      `sign ${short(r.signPublicKey)} box ${short(r.boxPublicKey)}`,
      `${r.capabilities.models.join(',')} ${r.capabilities.dtype} ${r.capabilities.device} ctx ${r.capabilities.maxContextTokens} ×${r.capabilities.concurrency}`,
      r.status,
      r.uptime === null ? 'n/a' : `${(r.uptime * 100).toFixed(1)}%`,
      `${r.rewardWeight} (${r.rewardedRequests} req)`,
      `${r.penaltyCount} / ${r.reputation.toFixed(2)}`,
    ]);
    printTable(['NODE', 'KEYS', 'CAPABILITIES', 'STATUS', `UPTIME ${windowSeconds}s`, 'REWARD WEIGHT', 'PENALTIES / REPUTATION'], table);
  } finally {
    await db.$disconnect();
  }
}

/** `parallelix nodes approve|suspend <nodeId>`: one atomic status change (src/policy/node-admission.ts). */
export async function nodesAdmissionCommand(action: 'approve' | 'suspend', nodeId: string, flags: { json?: boolean }): Promise<void> {
  const db = openDatabase();
  try {
    const change = await (action === 'approve' ? approveNode : suspendNode)(db, nodeId);
    if (flags.json) say(JSON.stringify(change));
    else say(change.from === change.to ? `${nodeId} is already ${change.to}` : `${nodeId}: ${change.from} → ${change.to}`);
  } finally {
    await db.$disconnect();
  }
}
