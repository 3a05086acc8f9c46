import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/common';
import type { AnchorInput, AnchorOutput } from '../../activities/anchor.js';
import { composedStepActivities, type CoordinatorActivities } from '../../activities/index.js';
import type { PenaltyInput } from '../../activities/penalise.js';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';

type Activity = (...args: never[]) => Promise<unknown>;

/** What a step's completion means beyond its timing: requests ended, verdicts, anchoring transactions, penalties. */
type Hook = (input: unknown, output: unknown, metrics: CoordinatorMetrics) => void;

const penalty: Hook = (input, output, metrics) => {
  if ((output as { applied: boolean }).applied) metrics.penalised((input as PenaltyInput).reason);
};

const HOOKS: Partial<Record<keyof CoordinatorActivities, Hook>> = {
  '12 Anchor': (input, output, metrics) => {
    const anchored = output as AnchorOutput;
    if (anchored.alreadyAnchored) return; // written by an earlier attempt: counted there
    metrics.verdict((input as AnchorInput).verdict);
    metrics.anchorTransaction({ gasUsed: anchored.gasUsed, batchSize: 1 });
  },
  '14 Settle': (_input, _output, metrics) => metrics.requestSettled(),
  'Compensate · release credits': (input, _output, metrics) => metrics.requestFailed((input as { reason: string }).reason),
  '10 Verify sig · penalise': penalty,
  '11 Sample · penalise': penalty,
};

/** Steps whose typed refusal ends a request before admission holds anything. */
const REFUSING_STEPS = new Set<string>(['01 Request', '02 Admit', '01 Request · 02 Admit', '01 Request · 02 Admit · 03 Match · 04 Encrypt']);

function failureTypeOf(error: unknown): string {
  if (error instanceof ApplicationFailure) return error.type ?? 'APPLICATION_FAILURE';
  return error instanceof Error ? error.name : 'UNKNOWN';
}

/**
 * The same activities, each timed into parallelix_step_duration_seconds under its registered (step) name, with
 * failures counted by type and the step-specific events above. Behaviour is unchanged: results and errors pass
 * through as they are.
 */
export function instrumentActivities<T extends object>(activities: T, metrics: CoordinatorMetrics): T {
  const timed = (step: string, activity: Activity): Activity => {
    const hook = HOOKS[step as keyof CoordinatorActivities];
    return async (...args: never[]) => {
      const started = performance.now();
      try {
        const output = await activity(...args);
        metrics.stepFinished(step, (performance.now() - started) / 1000, null);
        hook?.(args[0], output, metrics);
        return output;
      } catch (error) {
        const type = failureTypeOf(error);
        metrics.stepFinished(step, (performance.now() - started) / 1000, type);
        if (REFUSING_STEPS.has(step) && error instanceof ApplicationFailure && error.nonRetryable) metrics.requestRefused(type);
        throw error;
      }
    };
  };
  const wrapped: Record<string, Activity> = {};
  for (const [step, activity] of Object.entries(activities) as [string, Activity][]) wrapped[step] = timed(step, activity);
  // A composite step runs the timed single steps: each part is timed and counted under its own name too.
  const composed = composedStepActivities(wrapped as unknown as CoordinatorActivities) as Record<string, Activity>;
  for (const [step, activity] of Object.entries(composed)) if (step in wrapped) wrapped[step] = timed(step, activity);
  return wrapped as T;
}
