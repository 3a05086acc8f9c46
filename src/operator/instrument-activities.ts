import { performance } from 'node:perf_hooks';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OperatorActivities } from './activities.js';
import { labelValue } from '../metrics/coordinator-metrics.js';

/**
 * An operator's inference metrics: executions by outcome (ok, refused with its type, cancelled, error), their
 * durations, tokens in and out, and inferences in flight. Wraps the activities; results and errors pass unchanged.
 */
export function instrumentOperatorActivities(activities: OperatorActivities, registry: Registry): OperatorActivities {
  const registers = [registry];
  const executions = new Counter({
    name: 'parallelix_operator_inferences_total',
    help: 'Dispatches this node executed, by outcome and failure type',
    labelNames: ['outcome', 'failure_type'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'parallelix_operator_inference_duration_seconds',
    help: 'Time from receiving a dispatch to returning the sealed, signed result (steps 06-09)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  const tokens = new Counter({ name: 'parallelix_operator_tokens_total', help: 'Tokens processed, by direction', labelNames: ['direction'] as const, registers });
  const inFlight = new Gauge({ name: 'parallelix_operator_inferences_in_flight', help: 'Dispatches executing now', registers });
  return {
    ...activities,
    async executeInference(input) {
      const started = performance.now();
      inFlight.inc();
      try {
        const result = await activities.executeInference(input);
        executions.inc({ outcome: 'ok', failure_type: '' });
        tokens.inc({ direction: 'input' }, result.usage.inputTokens);
        tokens.inc({ direction: 'output' }, result.usage.outputTokens);
        return result;
      } catch (error) {
        if (error instanceof CancelledFailure) executions.inc({ outcome: 'cancelled', failure_type: '' });
        else if (error instanceof ApplicationFailure && error.nonRetryable) executions.inc({ outcome: 'refused', failure_type: labelValue(error.type ?? 'UNKNOWN') });
        else executions.inc({ outcome: 'error', failure_type: labelValue(error instanceof Error ? error.name : 'UNKNOWN') });
        throw error;
      } finally {
        inFlight.dec();
        duration.observe((performance.now() - started) / 1000);
      }
    },
  };
}

/** Requests per generation on this node (1 unless PARALLELIX_OPERATOR_BATCH_MAX lets dispatches share one). */
export function generationRowsMetric(registry: Registry): (rows: number) => void {
  const rows = new Histogram({
    name: 'parallelix_operator_generation_rows',
    help: 'Requests carried by each generation (batched greedy dispatches share one)',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [registry],
  });
  return (count) => rows.observe(count);
}
