import { stepTimesFromEvents, WORKFLOW_TASKS } from '../../bench/history-steps.js';
import { distribution, percentile } from '../../bench/stats.js';

const T0 = 1_795_611_777_000;
const at = (ms: number) => ({ seconds: String(Math.floor((T0 + ms) / 1000)), nanos: ((T0 + ms) % 1000) * 1e6 });
let id = 0;
const ev = (eventType: number, ms: number, extra: Record<string, unknown> = {}) => ({ eventId: ++id, eventType, eventTime: at(ms), ...extra });
const marker = (ms: number, activityType: string, completeMs: number) =>
  ev(25, ms, {
    markerRecordedEventAttributes: {
      markerName: 'core_local_activity',
      details: {
        data: { payloads: [{ data: Buffer.from(JSON.stringify({ activity_type: activityType, complete_time: at(completeMs) })).toString('base64') }] },
        result: { payloads: [{ data: 'ZW5jcnlwdGVk' }] },
      },
    },
  });

test('steps come from the marker complete_time chain and the dispatch activity timestamps', () => {
  id = 0;
  const events = [
    ev(1, 0),
    ev(5, 0),
    ev(6, 3),
    ev(7, 80), // first task: 01–04 ran inside it, markers follow the completion
    ev(40, 80),
    marker(81, '01 Request', 5),
    marker(81, '02 Admit', 20),
    marker(82, '03 Match', 25),
    marker(83, '04 Encrypt', 30),
  ];
  const scheduledId = id + 1;
  events.push(
    ev(10, 84),
    ev(11, 90, { activityTaskStartedEventAttributes: { scheduledEventId: scheduledId } }),
    ev(12, 190, { activityTaskCompletedEventAttributes: { scheduledEventId: scheduledId } }),
    ev(5, 190),
    ev(6, 192),
    ev(7, 260),
    marker(261, '10 Verify sig', 200),
    marker(261, '12 Anchor', 220),
    marker(262, '13 Return result', 223),
    marker(262, '14 Settle', 240),
    ev(2, 262),
  );
  const { steps, workflowMs } = stepTimesFromEvents(events);
  expect(workflowMs).toBeCloseTo(262, 3);
  expect(steps['start → first workflow task']).toBeCloseTo(3, 3);
  expect(steps['01 Request']).toBeCloseTo(2, 3);
  expect(steps['02 Admit']).toBeCloseTo(15, 3);
  expect(steps['04 Encrypt']).toBeCloseTo(5, 3);
  expect(steps[WORKFLOW_TASKS]).toBeCloseTo(50 + 20, 3);
  expect(steps['05 Dispatch · queue (schedule→start)']).toBeCloseTo(6, 3);
  expect(steps['06–09 On node (decrypt, execute, PoE, return)']).toBeCloseTo(100, 3);
  expect(steps['dispatch result → workflow task']).toBeCloseTo(2, 3);
  expect(steps['10 Verify sig']).toBeCloseTo(8, 3);
  expect(steps['12 Anchor']).toBeCloseTo(20, 3);
  expect(steps['13 Return result']).toBeCloseTo(3, 3);
  expect(steps['14 Settle']).toBeCloseTo(17, 3);
  expect(steps['unattributed (rest)']).toBeCloseTo(262 - 3 - 2 - 15 - 5 - 5 - 70 - 6 - 100 - 2 - 8 - 20 - 3 - 17, 3);
});

test('nearest-rank percentiles', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  expect(percentile(values, 50)).toBe(50);
  expect(percentile(values, 99)).toBe(99);
  expect(distribution([3, 1, 2])).toMatchObject({ n: 3, p50: 2, p95: 3, min: 1, max: 3 });
});
