/**
 * Per-step durations of one inferenceWorkflow run, from its event history alone.
 *
 * Local activities (steps 01–04, 10–14) leave MarkerRecorded events whose `data` detail is the SDK core's own
 * JSON (activity_type, complete_time), not passed through the payload codec; their summaries are encrypted, so the
 * step is inferred from the activity type and its position. Local activities in one workflow task run one after
 * another, so a step's time is its complete_time minus the previous one's (the first: minus the task's start).
 * Core advances that clock by each local activity's own run (with its ~1 ms hand-off), not by the workflow code
 * between them: checked against core's TRACE log, each such step is the activity's duration plus ~1 ms, and the
 * rest of each workflow task (its delivery to the worker, every workflow activation in the workflow thread, the
 * completion's round trip) lands in WORKFLOW_TASKS, summed over the run's tasks. The dispatch (05–09) is a regular
 * activity: schedule→start is queueing on the node's task queue, start→complete is the node's whole work
 * (decrypt, execute, PoE, sign and return are not separated in history).
 */
import type { WorkflowHandle } from '@temporalio/client';

export type StepTimes = Record<string, number>;

/** The part of the run's workflow tasks that is not a local activity's own run (see above). */
export const WORKFLOW_TASKS = 'workflow tasks: code, hand-offs, completion';

export const STEP_ORDER = [
  'start → first workflow task',
  '01 Request',
  '02 Admit',
  '03 Match',
  '04 Encrypt',
  '01 Request · 02 Admit',
  '03 Match · 04 Encrypt',
  '01 Request · 02 Admit · 03 Match · 04 Encrypt',
  WORKFLOW_TASKS,
  '05 Dispatch · queue (schedule→start)',
  '06–09 On node (decrypt, execute, PoE, return)',
  'dispatch result → workflow task',
  '10 Verify sig',
  '11 Sample · match',
  '11 Sample · encrypt',
  '11 Sample · match · encrypt',
  '11 Sample · seal claim',
  '11 Sample · dispatch queue',
  '11 Sample · on node',
  '11 Sample · verify',
  '11 Sample · judge',
  '11 Sample · record',
  '10/11 Penalise',
  '12 Anchor',
  '12 Anchor · 14 Settle',
  '13 Return result',
  '14 Settle',
  'Compensate',
  'unattributed (rest)',
] as const;

interface TimeLike {
  seconds?: unknown;
  nanos?: unknown;
}

function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (value && typeof (value as { toNumber?: unknown }).toNumber === 'function') return (value as { toNumber(): number }).toNumber();
  return 0;
}

function ms(t: TimeLike | null | undefined): number {
  return t ? num(t.seconds) * 1000 + num(t.nanos) / 1e6 : Number.NaN;
}

function payloadJson(data: unknown): Record<string, unknown> | undefined {
  try {
    const text =
      typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : data instanceof Uint8Array ? Buffer.from(data).toString('utf8') : undefined;
    return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

interface RawEvent {
  eventId?: unknown;
  eventTime?: TimeLike | null;
  eventType?: unknown;
  markerRecordedEventAttributes?: { markerName?: string | null; details?: Record<string, { payloads?: Array<{ data?: unknown }> | null }> | null } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
}

// temporal.api.enums.v1.EventType
const WF_STARTED = 1;
const WF_COMPLETED = 2;
const WFT_STARTED = 6;
const WFT_COMPLETED = 7;
const ACT_SCHEDULED = 10;
const ACT_STARTED = 11;
const ACT_COMPLETED = 12;
const MARKER = 25;
const UPSERT_SEARCH_ATTRIBUTES = 40;

export interface HistoryTiming {
  steps: StepTimes;
  /** WorkflowExecutionStarted → WorkflowExecutionCompleted, ms. */
  workflowMs: number;
}

export function stepTimesFromEvents(events: RawEvent[]): HistoryTiming {
  const steps: StepTimes = {};
  const add = (label: string, value: number): void => {
    if (Number.isFinite(value)) steps[label] = (steps[label] ?? 0) + Math.max(0, value);
  };
  let workflowStart = Number.NaN;
  let workflowEnd = Number.NaN;
  let boundary = Number.NaN;
  let taskStart = Number.NaN;
  /** WorkflowTaskCompleted time, until the markers recorded after it (the task's local activities) are read. */
  let pendingCommit: number | null = null;
  let firstTask = true;
  let lastActivityCompleted = Number.NaN;
  let verified = false;
  const scheduled = new Map<number, { at: number; sample: boolean }>();
  const started = new Map<number, number>();

  for (const event of events) {
    const type = num(event.eventType);
    const at = ms(event.eventTime);
    if (pendingCommit !== null && type !== MARKER && type !== UPSERT_SEARCH_ATTRIBUTES) {
      add(WORKFLOW_TASKS, pendingCommit - boundary);
      pendingCommit = null;
    }
    switch (type) {
      case WF_STARTED:
        workflowStart = at;
        break;
      case WF_COMPLETED:
        workflowEnd = at;
        break;
      case WFT_STARTED:
        if (firstTask) add('start → first workflow task', at - workflowStart);
        else if (Number.isFinite(lastActivityCompleted)) add('dispatch result → workflow task', at - lastActivityCompleted);
        lastActivityCompleted = Number.NaN;
        firstTask = false;
        taskStart = at;
        break;
      case WFT_COMPLETED:
        // The task's local-activity markers follow this event; their complete_times chain from the task start.
        pendingCommit = at;
        boundary = taskStart;
        break;
      case MARKER: {
        const attrs = event.markerRecordedEventAttributes;
        if (attrs?.markerName !== 'core_local_activity') break;
        const data = payloadJson(attrs.details?.data?.payloads?.[0]?.data);
        if (!data) break;
        const completed = ms(data.complete_time as TimeLike);
        const label = localActivityStep(String(data.activity_type));
        if (data.activity_type === '10 Verify sig') verified = true;
        
        // Markers are written when the task completes; the chain of complete_times gives each step's share.
        add(label, completed - boundary);
        boundary = completed;
        break;
      }
      case ACT_SCHEDULED:
        scheduled.set(num(event.eventId), { at, sample: verified });
        break;
      case ACT_STARTED: {
        const id = num(event.activityTaskStartedEventAttributes?.scheduledEventId);
        const s = scheduled.get(id);
        if (s) add(s.sample ? '11 Sample · dispatch queue' : '05 Dispatch · queue (schedule→start)', at - s.at);
        started.set(id, at);
        break;
      }
      case ACT_COMPLETED: {
        const id = num(event.activityTaskCompletedEventAttributes?.scheduledEventId);
        const s = scheduled.get(id);
        const st = started.get(id);
        if (s && st !== undefined) add(s.sample ? '11 Sample · on node' : '06–09 On node (decrypt, execute, PoE, return)', at - st);
        lastActivityCompleted = at;
        break;
      }
      default:
        break;
    }
  }
  if (pendingCommit !== null) add(WORKFLOW_TASKS, pendingCommit - boundary);
  const workflowMs = workflowEnd - workflowStart;
  const attributed = Object.values(steps).reduce((a, b) => a + b, 0);
  // Not clamped: a negative value would expose double counting.
  if (Number.isFinite(workflowMs)) steps['unattributed (rest)'] = workflowMs - attributed;
  return { steps, workflowMs };
}

/** Coordinator activities are registered under their step names (activities/index.ts); group the penalties. */
function localActivityStep(activityType: string): string {
  return activityType.endsWith('· penalise') ? '10/11 Penalise' : activityType;
}

export async function stepTimes(handle: WorkflowHandle): Promise<HistoryTiming> {
  const history = await handle.fetchHistory();
  return stepTimesFromEvents((history.events ?? []) as unknown as RawEvent[]);
}
