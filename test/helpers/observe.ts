/**
 * Waiting on observed state instead of sleeping: deadlines scaled to how busy the machine is, and what a run's
 * history says about who did what.
 */
import os from 'node:os';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * A deadline for work of about `baseMs` on an idle machine, stretched by the machine's load (load average per
 * core, at most 10x): the same test passes on an idle laptop and on a 2-core CI box running other jobs.
 */
export function scaledTimeout(baseMs: number): number {
  const perCore = os.loadavg()[0]! / Math.max(1, os.cpus().length);
  return Math.round(baseMs * Math.min(10, Math.max(1, perCore)));
}

/** Polls `check` until it returns a value other than undefined; throws naming `what` past the deadline. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, baseTimeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + scaledTimeout(baseTimeoutMs);
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface StartedDispatch {
  activityId: string;
  attempt: number;
  /** The identity of the operator worker that picked the task up (`<pid>@<host>`). */
  workerIdentity: string;
}

/** Waits until the run's dispatch to an operator is running on a node (picked up, not merely scheduled). */
export function waitForStartedDispatch(handle: WorkflowHandle, baseTimeoutMs = 30_000): Promise<StartedDispatch> {
  return waitFor('a dispatch running on an operator', async () => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const running = pending.find(
      (activity) => activity.activityType?.name === 'executeInference' && activity.state === 2 /* PENDING_ACTIVITY_STATE_STARTED */,
    );
    if (!running?.activityId || !running.lastWorkerIdentity) return undefined;
    return { activityId: running.activityId, attempt: running.attempt ?? 1, workerIdentity: running.lastWorkerIdentity };
  }, baseTimeoutMs);
}

/** `<pid>@<host>`: the default identity of a Temporal worker in a process with that pid on this machine. */
export function workerIdentity(pid: number | undefined): string {
  return `${String(pid)}@${os.hostname()}`;
}

/** The event time in milliseconds since the epoch. */
export function eventTime(event: HistoryEvent): number {
  const time = event.eventTime;
  return Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
}

/** The local activity type a marker recorded (from the SDK's marker bookkeeping), or undefined. */
export function markerActivityType(event: HistoryEvent): string | undefined {
  const data = event.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type;
  } catch {
    return undefined;
  }
}

/**
 * The identity of the worker that ran coordinator step `activityType`: for a local activity, the worker whose
 * workflow task recorded its marker; for a regular activity, the worker that completed it.
 */
export function identityThatRecorded(events: HistoryEvent[], activityType: string): string | undefined {
  const marker = events.find((event) => markerActivityType(event) === activityType);
  if (marker) {
    const completedId = marker.markerRecordedEventAttributes?.workflowTaskCompletedEventId;
    const completed = events.find((event) => String(event.eventId) === String(completedId));
    return completed?.workflowTaskCompletedEventAttributes?.identity ?? undefined;
  }
  const scheduled = events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === activityType);
  if (!scheduled) return undefined;
  const done = events.find(
    (event) => String(event.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === String(scheduled.eventId),
  );
  return done?.activityTaskCompletedEventAttributes?.identity ?? undefined;
}
