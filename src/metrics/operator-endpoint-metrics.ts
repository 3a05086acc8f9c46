import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Outcome of one call through the operator endpoint. */
export type EndpointCallOutcome = 'forwarded' | 'upstream_error' | 'refused' | 'unauthenticated';

export interface OperatorEndpointMetrics {
  call(method: string, outcome: EndpointCallOutcome, totalSeconds: number, overheadSeconds: number): void;
  login(outcome: 'ok' | 'refused'): void;
}

/**
 * The operator endpoint's metrics: calls by method and outcome (refusals included), their duration (long polls
 * included) and the endpoint's own share of it (time not spent waiting for Temporal), logins, live sessions and
 * remembered task tokens.
 */
export function createOperatorEndpointMetrics(registry: Registry, live: { sessions: () => number; taskTokens: () => number }): OperatorEndpointMetrics {
  const registers = [registry];
  const calls = new Counter({
    name: 'parallelix_operator_endpoint_calls_total',
    help: 'Temporal calls of operators through the endpoint, by method and outcome (forwarded, upstream_error, refused, unauthenticated)',
    labelNames: ['method', 'outcome'] as const,
    registers,
  });
  const refusals = new Counter({
    name: 'parallelix_operator_endpoint_refusals_total',
    help: 'Calls refused by the endpoint (PERMISSION_DENIED or UNAUTHENTICATED), by method',
    labelNames: ['method'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'parallelix_operator_endpoint_call_duration_seconds',
    help: 'Time from receiving a call to answering it (long polls wait up to a minute)',
    labelNames: ['method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 70],
    registers,
  });
  const overhead = new Histogram({
    name: 'parallelix_operator_endpoint_overhead_seconds',
    help: 'The endpoint\'s own time per call: checks and forwarding, not the wait for Temporal',
    labelNames: ['method'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers,
  });
  const logins = new Counter({ name: 'parallelix_operator_endpoint_logins_total', help: 'Node logins, by outcome', labelNames: ['outcome'] as const, registers });
  new Gauge({ name: 'parallelix_operator_endpoint_sessions', help: 'Live operator sessions', registers, collect() { this.set(live.sessions()); } });
  new Gauge({ name: 'parallelix_operator_endpoint_task_tokens', help: 'Activity task tokens handed out and not yet answered', registers, collect() { this.set(live.taskTokens()); } });
  return {
    call(method, outcome, totalSeconds, overheadSeconds) {
      calls.inc({ method, outcome });
      if (outcome === 'refused' || outcome === 'unauthenticated') refusals.inc({ method });
      duration.observe({ method }, totalSeconds);
      overhead.observe({ method }, overheadSeconds);
    },
    login(outcome) {
      logins.inc({ outcome });
    },
  };
}
