import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export { PrismaClient, Prisma } from '../generated/prisma/client.js';
export {
  HoldStatus,
  LedgerEntryKind,
  NodeStatus,
  RequestStatus,
  Verdict,
} from '../generated/prisma/enums.js';
export type {
  User,
  ApiKey,
  CreditLedgerEntry,
  CreditHold,
  Node,
  NodePenalty,
  HealthSample,
  InferenceRequest,
  ExecutionRecord,
  RewardLedgerEntry,
} from '../generated/prisma/client.js';

export interface PrismaClientOptions {
  /** Pool size; default 10. */
  maxConnections?: number;
}

/** A Prisma client on PostgreSQL through adapter-pg (no native engine). Connects lazily. */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.maxConnections ?? 10 });
  return new PrismaClient({ adapter });
}

/** Closes the client's connection pool. */
export async function disconnect(db: PrismaClient): Promise<void> {
  await db.$disconnect();
}
