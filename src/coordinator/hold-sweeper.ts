import type { WorkflowClient } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { HoldSweeperMetrics } from '../metrics/coordinator-metrics.js';
import proto from '@temporalio/proto';
import type { RegistryClient } from '../chain/registry.js';
import type { Hex } from 'viem';
import { anchorStateOf } from '../db/anchor-batches.js';
import { releaseHold } from '../db/credits.js';
import type { PrismaClient } from '../db/client.js';
import type { Logger } from '../shared/logger.js';

/**
 * The hold sweeper: releases credit holds left HELD by runs that closed without settling. A run releases its own
 * hold on every path it controls (failure, cancel); a terminated or timed-out run runs no code at all, and a crash
 * between a hold and its release leaves one too. Any number of coordinator processes may sweep at once: the release
 * is idempotent under the account's row lock, and only the process whose release applied counts it.
 *
 * Never released: a hold whose execution record is anchored, in the database or on chain (the node did the work and
 * the record is public: settlement is due). Such a run, closed before settling (terminated or timed out after its
 * anchor), is resumed instead: the sweeper resets it to its last completed workflow task, and the new run re-runs
 * the idempotent anchor, returns and settles. Nor a hold whose run closed less than `graceMs` ago (a local
 * activity of a terminated run, such as an anchor, may still be finishing in a worker).
 */
export interface HoldSweeperOptions {
  db: PrismaClient;
  /** Describes workflows by id (the hold or its request row names the run) and resets anchored ones. */
  workflows: Pick<WorkflowClient, 'getHandle' | 'workflowService' | 'options'>;
  /** The chain, asked when the database has no anchored record (an anchor may have landed without its row). */
  registry?: Pick<RegistryClient, 'readRecord'>;
  /** Batched anchoring: whether a planned batch's root is on chain (a record anchored in it may lack its row). Without
   * it, a planned batch counts as pending: its hold is kept. */
  batchOnChain?: (root: Hex) => Promise<boolean>;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Only holds older than this are looked at (a fresh hold belongs to a run that is surely still open). */
  minAgeMs: number;
  /** A run must have been closed for this long before its hold is released. */
  graceMs: number;
  /** At most this many holds per sweep (oldest first). */
  batchSize?: number;
  metrics?: HoldSweeperMetrics;
}

export interface SweepReport {
  examined: number;
  released: Array<{ requestId: string; workflowId: string; amount: bigint; runStatus: string }>;
  /** Closed runs whose record is anchored: kept HELD and reset to settle (the new run ids). */
  resumed: Array<{ requestId: string; workflowId: string; runId: string }>;
}

interface HeldRow {
  requestId: string;
  amount: bigint;
  workflowId: string | null;
}

interface ClosedRun {
  status: string;
  /** null when the run is gone from the namespace (retention expired). */
  runId: string | null;
}

/** How the latest run of `workflowId` ended, or null while it is open (or closed too recently to be sure nothing of it still runs). */
async function closedRun(options: HoldSweeperOptions, workflowId: string): Promise<ClosedRun | null> {
  try {
    const description = await options.workflows.getHandle(workflowId).describe();
    const status = description.status.name;
    if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW' || status === 'UNSPECIFIED') return null;
    const closedAt = description.closeTime?.getTime() ?? 0;
    return Date.now() - closedAt >= options.graceMs ? { status, runId: description.runId } : null;
  } catch (error) {
    // Gone from the namespace (retention expired): it closed long ago.
    if (error instanceof WorkflowNotFoundError) return { status: 'NOT_FOUND', runId: null };
    throw error;
  }
}

/**
 * Where a request's anchoring stands, as the sweeper must know it: 'anchored' (its row, its own record on chain, or
 * its planned batch's root on chain), 'pending' (batched: its batch was written down, so its transaction may have
 * been sent and may still land; releasing now could leave an anchored record unpaid), or 'none'.
 */
export async function anchoringState(options: Pick<HoldSweeperOptions, 'db' | 'registry' | 'batchOnChain'>, requestId: string): Promise<'anchored' | 'pending' | 'none'> {
  // Step 12's own query: the record's row and the planned batch in one round trip.
  const { written, planned } = await anchorStateOf(options.db, requestId);
  if (written) return 'anchored';
  if ((await options.registry?.readRecord(requestId)) != null) return 'anchored';
  if (!planned) return 'none';
  if (options.batchOnChain && (await options.batchOnChain(planned.root as Hex))) return 'anchored';
  return 'pending';
}

const WORKFLOW_TASK_COMPLETED = proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;

/**
 * Resets a closed run to its last completed workflow task: a new run of the same workflow id replays up to there
 * and goes on with today's code (anchor again, idempotent; return; settle). The request id makes a reset by
 * several sweepers at once happen once.
 */
async function resumeSettlement(options: HoldSweeperOptions, workflowId: string, runId: string): Promise<string> {
  const history = await options.workflows.getHandle(workflowId, runId).fetchHistory();
  const last = [...(history.events ?? [])].reverse().find((event) => event.eventType === WORKFLOW_TASK_COMPLETED);
  if (!last?.eventId) throw new Error(`run ${runId} of ${workflowId} has no completed workflow task to reset to`);
  const response = await options.workflows.workflowService.resetWorkflowExecution({
    namespace: options.workflows.options.namespace,
    workflowExecution: { workflowId, runId },
    reason: 'hold sweeper: the run closed after its anchor without settling; settling it',
    workflowTaskFinishEventId: last.eventId,
    requestId: `hold-sweeper-reset-${runId}`,
  });
  return response.runId ?? '';
}

/** One sweep over the oldest HELD holds. */
export async function sweepHolds(options: HoldSweeperOptions): Promise<SweepReport> {
  const { db } = options;
  const before = new Date(Date.now() - options.minAgeMs);
  const holds = await db.creditHold.findMany({
    where: { status: 'HELD', createdAt: { lt: before } },
    orderBy: { createdAt: 'asc' },
    take: options.batchSize ?? 100,
    select: { requestId: true, amount: true, workflowId: true },
  });
  // Holds made before holds named their run: the request row names it (when it was written).
  const unnamed = holds.filter((h) => h.workflowId === null).map((h) => h.requestId);
  const requests = unnamed.length
    ? await db.inferenceRequest.findMany({ where: { requestId: { in: unnamed } }, select: { requestId: true, workflowId: true } })
    : [];
  const rows: HeldRow[] = holds.map((h) => ({ ...h, workflowId: h.workflowId ?? requests.find((r) => r.requestId === h.requestId)?.workflowId ?? null }));
  const report: SweepReport = { examined: rows.length, released: [], resumed: [] };
  for (const row of rows) {
    // A hold from before holds named their run, whose request row was never written: nothing says which run it is.
    if (!row.workflowId) continue;
    const run = await closedRun(options, row.workflowId);
    if (run === null) continue;
    const runStatus = run.status;
    const anchoring = await anchoringState(options, row.requestId);
    if (anchoring === 'pending') {
      options.logger.warn({ requestId: row.requestId, workflowId: row.workflowId }, 'closed run whose anchor batch may still land: hold kept');
      continue;
    }
    if (anchoring === 'anchored') {
      if (run.runId === null) {
        options.logger.warn({ requestId: row.requestId, workflowId: row.workflowId }, 'anchored, unsettled and its run is gone: hold kept for an operator');
        continue;
      }
      const newRunId = await resumeSettlement(options, row.workflowId, run.runId);
      report.resumed.push({ requestId: row.requestId, workflowId: row.workflowId, runId: newRunId });
      options.metrics?.settlementResumed(runStatus);
      options.logger.warn({ requestId: row.requestId, workflowId: row.workflowId, runStatus, newRunId }, 'anchored run closed before settling: reset to settle it');
      continue;
    }
    const outcome = await releaseHold(db, row.requestId);
    await db.inferenceRequest.updateMany({
      where: { requestId: row.requestId, status: { notIn: ['SETTLED', 'FAILED'] } },
      data: { status: 'FAILED', failureReason: `run ${runStatus.toLowerCase()}: hold released by the sweeper`, completedAt: new Date() },
    });
    if (!outcome?.applied) continue; // another process released it first
    report.released.push({ requestId: row.requestId, workflowId: row.workflowId, amount: outcome.releasedAmount, runStatus });
    options.metrics?.holdSwept(outcome.releasedAmount, runStatus);
    options.logger.info({ requestId: row.requestId, workflowId: row.workflowId, runStatus, amount: outcome.releasedAmount.toString() }, 'hold of a closed run released');
  }
  return report;
}

export interface RunningSweeper {
  /** Sweeps now (waits for a sweep in progress first). */
  sweepNow(): Promise<SweepReport>;
  stop(): Promise<void>;
}

/** Sweeps every `intervalMs` until stopped. A failed sweep is logged and the next one runs on time. */
export function startHoldSweeper(options: HoldSweeperOptions & { intervalMs: number }): RunningSweeper {
  let current: Promise<SweepReport | undefined> = Promise.resolve(undefined);
  let stopped = false;
  const sweep = (): Promise<SweepReport | undefined> => {
    current = current.then(() =>
      sweepHolds(options).catch((error: unknown) => {
        options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'hold sweep failed');
        return undefined;
      }),
    );
    return current;
  };
  const timer = setInterval(() => {
    if (!stopped) void sweep();
  }, options.intervalMs);
  timer.unref();
  return {
    async sweepNow() {
      const report = await sweep();
      if (!report) throw new Error('hold sweep failed (see the log)');
      return report;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}
