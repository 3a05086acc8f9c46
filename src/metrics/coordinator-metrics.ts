import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PrismaClient } from '../db/client.js';

/** What the hold sweeper (src/coordinator/hold-sweeper.ts) reports. */
export interface HoldSweeperMetrics {
  /** A hold this process released, by how its run ended. */
  holdSwept(amount: bigint, runStatus: string): void;
  /** A closed, anchored, unsettled run this process reset so that it settles, by how the run ended. */
  settlementResumed(runStatus: string): void;
}

/** What the coordinator's activities report beyond their timings (see instrumentCoordinatorActivities). */
export interface CoordinatorMetrics extends HoldSweeperMetrics {
  requestSettled(): void;
  requestFailed(reason: string): void;
  requestRefused(failureType: string): void;
  /** A record this process anchored (not one found already on chain). */
  verdict(verdict: string): void;
  /** One anchoring transaction: its gas and how many records it carried. */
  anchorTransaction(transaction: { gasUsed: number; batchSize: number }): void;
  penalised(reason: string): void;
  stepFinished(step: string, seconds: number, failureType: string | null): void;
}

/** A bounded label value: failure types and compensation reasons become UPPER_SNAKE, at most 40 characters. */
export function labelValue(text: string): string {
  const value = text.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40);
  return value === '' ? 'UNKNOWN' : value;
}

/** Database-derived gauges are read at most this often, whatever the scrape interval. */
const DB_GAUGE_TTL_MS = 5_000;

interface LedgerSnapshot {
  holdsOpen: number;
  holdsOpenAmount: number;
  oldestHoldAgeSeconds: number;
  balances: number;
  held: number;
  captured: number;
  rewardWeight: number;
}

async function readLedger(db: PrismaClient): Promise<LedgerSnapshot> {
  const [holds, users, captured, rewards] = await Promise.all([
    db.creditHold.aggregate({ where: { status: 'HELD' }, _count: { _all: true }, _sum: { amount: true }, _min: { createdAt: true } }),
    db.user.aggregate({ _sum: { balance: true, held: true } }),
    db.creditHold.aggregate({ where: { status: 'CAPTURED' }, _sum: { capturedAmount: true } }),
    db.rewardLedgerEntry.aggregate({ _sum: { weight: true } }),
  ]);
  const oldest = holds._min.createdAt;
  return {
    holdsOpen: holds._count._all,
    holdsOpenAmount: Number(holds._sum.amount ?? 0n),
    oldestHoldAgeSeconds: oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0,
    balances: Number(users._sum.balance ?? 0n),
    held: Number(users._sum.held ?? 0n),
    captured: Number(captured._sum.capturedAmount ?? 0n),
    rewardWeight: Number(rewards._sum.weight ?? 0n),
  };
}

/**
 * The coordinator's own metrics. Counters count what this process did (a step retried after a crash may count
 * twice); the ledger gauges are read from the database every coordinator shares, so every coordinator reports the
 * same values: aggregate them with max(), not sum().
 */
export function createCoordinatorMetrics(registry: Registry, db: PrismaClient): CoordinatorMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'parallelix_requests_total',
    help: 'Requests that ended, by outcome (settled, failed after admission, refused at admission) and failure type',
    labelNames: ['outcome', 'failure_type'] as const,
    registers,
  });
  const steps = new Histogram({
    name: 'parallelix_step_duration_seconds',
    help: 'Coordinator step (local activity) durations, by step name and outcome',
    labelNames: ['step', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const stepFailures = new Counter({
    name: 'parallelix_step_failures_total',
    help: 'Failed coordinator step attempts, by step and failure type',
    labelNames: ['step', 'failure_type'] as const,
    registers,
  });
  const verdicts = new Counter({ name: 'parallelix_verdicts_total', help: 'Anchored execution records by verdict', labelNames: ['verdict'] as const, registers });
  const penalties = new Counter({ name: 'parallelix_penalties_total', help: 'Node penalties applied, by reason', labelNames: ['reason'] as const, registers });
  const anchorGas = new Histogram({
    name: 'parallelix_anchor_gas',
    help: 'Gas used per anchoring transaction',
    buckets: [50_000, 75_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000, 2_000_000],
    registers,
  });
  const swept = new Counter({
    name: 'parallelix_holds_swept_total',
    help: 'Credit holds of closed, unsettled runs released by this process\'s hold sweeper, by how the run ended',
    labelNames: ['run_status'] as const,
    registers,
  });
  const sweptCredits = new Counter({
    name: 'parallelix_holds_swept_credits_total',
    help: 'Micro-credits returned to users by this process\'s hold sweeper, by how the run ended',
    labelNames: ['run_status'] as const,
    registers,
  });
  const resumed = new Counter({
    name: 'parallelix_holds_settlement_resumed_total',
    help: 'Runs closed after their anchor without settling (terminated, timed out) that this process\'s hold sweeper reset so that they settle',
    labelNames: ['run_status'] as const,
    registers,
  });
  const anchorBatch = new Histogram({
    name: 'parallelix_anchor_batch_size',
    help: 'Execution records per anchoring transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers,
  });

  let snapshot: { at: number; value: Promise<LedgerSnapshot> } | undefined;
  const ledger = (): Promise<LedgerSnapshot> => {
    if (!snapshot || Date.now() - snapshot.at > DB_GAUGE_TTL_MS) {
      const value = readLedger(db);
      value.catch(() => (snapshot = undefined)); // a failed read is retried at the next scrape
      snapshot = { at: Date.now(), value };
    }
    return snapshot.value;
  };
  const gauge = (name: string, help: string, pick: (s: LedgerSnapshot) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set(pick(await ledger()));
      },
    });
  };
  gauge('parallelix_credit_holds_open', 'Credit holds not yet captured or released', (s) => s.holdsOpen);
  gauge('parallelix_credit_holds_open_amount', 'Micro-credits held by open holds', (s) => s.holdsOpenAmount);
  gauge('parallelix_credit_hold_oldest_age_seconds', 'Age of the oldest open credit hold (0 when none)', (s) => s.oldestHoldAgeSeconds);
  gauge('parallelix_ledger_balance_total', 'Spendable micro-credits over all users', (s) => s.balances);
  gauge('parallelix_ledger_held_total', 'Held micro-credits over all users', (s) => s.held);
  gauge('parallelix_ledger_captured_total', 'Micro-credits captured by settled requests', (s) => s.captured);
  gauge('parallelix_rewards_weight_total', 'Reward weight credited to nodes', (s) => s.rewardWeight);

  return {
    requestSettled: () => requests.inc({ outcome: 'settled', failure_type: '' }),
    requestFailed: (reason) => requests.inc({ outcome: 'failed', failure_type: labelValue(reason) }),
    requestRefused: (type) => requests.inc({ outcome: 'refused', failure_type: labelValue(type) }),
    verdict: (verdict) => verdicts.inc({ verdict }),
    anchorTransaction: ({ gasUsed, batchSize }) => {
      anchorGas.observe(gasUsed);
      anchorBatch.observe(batchSize);
    },
    penalised: (reason) => penalties.inc({ reason: labelValue(reason) }),
    holdSwept: (amount, runStatus) => {
      swept.inc({ run_status: labelValue(runStatus) });
      sweptCredits.inc({ run_status: labelValue(runStatus) }, Number(amount));
    },
    settlementResumed: (runStatus) => resumed.inc({ run_status: labelValue(runStatus) }),
    stepFinished: (step, seconds, failureType) => {
      steps.observe({ step, outcome: failureType === null ? 'ok' : 'error' }, seconds);
      if (failureType !== null) stepFailures.inc({ step, failure_type: labelValue(failureType) });
    },
  };
}
