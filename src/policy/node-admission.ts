import { readFile } from 'node:fs/promises';
import { NodeStatus, type PrismaClient } from '../db/client.js';
import { isNodeId } from '../crypto/identity.js';
import { ConfigError, InvalidInputError } from '../shared/errors.js';
import { NotFoundError } from '../shared/errors.js';

/**
 * Admission of operator nodes. A node registers PENDING and is never matched until a platform operator approves it
 * (`parallelix nodes approve <nodeId>`), unless its id is on the allowlist file (PARALLELIX_NODE_ALLOWLIST_FILE),
 * read at every registration so that editing it needs no restart. The local stack approves its own operators.
 * A PENDING node is probed like any other (its uptime is known by the time it is approved); probes never change a
 * PENDING or SUSPENDED status. SUSPENDED (by hand, or past the penalty threshold) is never matched and cannot
 * re-register until approved again.
 */

/** Node ids on an allowlist file: one a line, blank lines and `#` comments ignored. Throws ConfigError on a bad line. */
export async function readNodeAllowlist(file: string | null): Promise<Set<string>> {
  if (file === null) return new Set();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the node allowlist ${file}`, { details: (error as Error).message });
  }
  const ids = new Set<string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    if (!isNodeId(line)) throw new ConfigError(`node allowlist ${file}, line ${index + 1}: not a node id`);
    ids.add(line);
  }
  return ids;
}

export interface AdmissionChange {
  nodeId: string;
  from: NodeStatus;
  to: NodeStatus;
}

async function setStatus(db: PrismaClient, nodeId: string, to: NodeStatus, allowed: readonly NodeStatus[]): Promise<AdmissionChange> {
  if (!isNodeId(nodeId)) throw new InvalidInputError(`${nodeId} is not a node id (node-<40 hex digits>)`);
  // One conditional UPDATE: concurrent approvals, suspensions and penalties never interleave half-way.
  const rows = await db.$queryRaw<Array<{ from: NodeStatus }>>`
    UPDATE "Node" n SET "status" = ${to}::"NodeStatus", "updatedAt" = now()
    FROM (SELECT "nodeId", "status" FROM "Node" WHERE "nodeId" = ${nodeId} FOR UPDATE) old
    WHERE n."nodeId" = old."nodeId" AND old."status"::text = ANY(${allowed as string[]})
    RETURNING old."status" AS "from"`;
  const row = rows[0];
  if (row) return { nodeId, from: row.from, to };
  const node = await db.node.findUnique({ where: { nodeId }, select: { status: true } });
  if (!node) throw new NotFoundError(`no node ${nodeId} is registered`);
  if (node.status === to) return { nodeId, from: to, to };
  throw new InvalidInputError(`node ${nodeId} is ${node.status}: it cannot become ${to}`);
}

/** PENDING or SUSPENDED → ACTIVE. A suspended node keeps its penalty count: its next penalty suspends it again. */
export function approveNode(db: PrismaClient, nodeId: string): Promise<AdmissionChange> {
  return setStatus(db, nodeId, NodeStatus.ACTIVE, [NodeStatus.PENDING, NodeStatus.SUSPENDED]);
}

/** Any status but RETIRED → SUSPENDED: never matched, re-registration refused. */
export function suspendNode(db: PrismaClient, nodeId: string): Promise<AdmissionChange> {
  return setStatus(db, nodeId, NodeStatus.SUSPENDED, [NodeStatus.PENDING, NodeStatus.ACTIVE, NodeStatus.OFFLINE]);
}
