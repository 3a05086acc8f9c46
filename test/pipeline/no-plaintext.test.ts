/**
 * The no-plaintext history check (test/helpers/history.ts) bites: it finds a prompt stored in clear at any byte
 * alignment, and a real run with the coordinator's codec switched off fails it.
 */
import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { EncryptionCodec } from '../../src/codec/encryption-codec.js';
import type { InferenceResult } from '../../src/protocol/inference.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';
import { base64Forms, expectNoPlaintextInHistory, scanHistoryForPlaintext } from '../helpers/history.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';

const codec = new EncryptionCodec({ id: 'test-key', key: Buffer.alloc(32, 7) });
const SECRET = 'capital of France';

/** A one-event history whose workflow input is the given payload. */
function historyWith(payload: temporal.api.common.v1.IPayload): temporal.api.history.v1.IHistory {
  return asHistory([{ eventId: 1, workflowExecutionStartedEventAttributes: { input: { payloads: [payload] } } }]);
}

/** Hand-built events (event ids as numbers, where the server's have Longs: the scanner only prints them). */
function asHistory(events: object[]): temporal.api.history.v1.IHistory {
  return { events } as unknown as temporal.api.history.v1.IHistory;
}

describe('the scanner', () => {
  test.each([0, 1, 2, 3, 4, 5])('finds a secret base64-encoded at byte offset %i (the old check missed offsets 1, 2 mod 3)', async (offset) => {
    const inner = defaultPayloadConverter.toPayload({ note: `${'x'.repeat(offset)}${SECRET}` });
    // A payload that carries another payload's bytes as base64 text, as JSON does.
    const outer = defaultPayloadConverter.toPayload({ nested: Buffer.from(inner.data!).toString('base64') });
    const report = await scanHistoryForPlaintext(historyWith(outer), { codec, secrets: [SECRET], expectEncrypted: [] });
    expect(report.violations).toEqual(
      expect.arrayContaining([expect.stringMatching(/stored unencrypted/), expect.stringMatching(/"capital of France" base64-encoded/)]),
    );
  });

  test('base64 forms are the parts of the encoding that do not depend on the surrounding bytes', () => {
    const forms = base64Forms(SECRET);
    expect(forms).toHaveLength(3);
    for (const [offset, form] of forms.entries()) {
      expect(Buffer.concat([Buffer.from('ab'.slice(0, offset)), Buffer.from(SECRET), Buffer.from('yz')]).toString('base64')).toContain(form);
    }
  });

  test('an encrypted payload passes only if the codec opens it, and the secret must be inside it', async () => {
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload({ prompt: SECRET })]);
    const clean = await scanHistoryForPlaintext(historyWith(sealed!), { codec, secrets: [SECRET] });
    expect(clean).toMatchObject({ violations: [], payloads: { encrypted: 1 } });

    const otherKey = new EncryptionCodec({ id: 'test-key', key: Buffer.alloc(32, 8) });
    const foreign = await scanHistoryForPlaintext(historyWith(sealed!), { codec: otherKey, secrets: [SECRET] });
    expect(foreign.violations).toEqual([
      expect.stringMatching(/does not open with the coordinator's codec/),
      expect.stringMatching(/expected in this run's encrypted payloads but is not there/),
    ]);
  });

  test("only the SDK's own local-activity bookkeeping may sit beside an encrypted marker result", async () => {
    const marker = (data: object) =>
      asHistory([{ eventId: 5, markerRecordedEventAttributes: { details: { data: { payloads: [defaultPayloadConverter.toPayload(data)] } } } }]);
    const bookkeeping = { seq: 1, attempt: 1, activity_id: '1', activity_type: '02 Admit', complete_time: null, backoff: null };
    const ok = await scanHistoryForPlaintext(marker(bookkeeping), { codec, secrets: [SECRET], expectEncrypted: [] });
    expect(ok).toMatchObject({ violations: [], payloads: { sdkMetadata: 1 } });
    const smuggled = await scanHistoryForPlaintext(marker({ ...bookkeeping, note: 'x' }), { codec, secrets: [SECRET], expectEncrypted: [] });
    expect(smuggled.violations).toEqual([expect.stringMatching(/^event 5\.markerRecordedEventAttributes.*: payload stored unencrypted/)]);
  });

  test("a patch marker's id may be plain, anything beside it may not", async () => {
    const patch = (data: object) =>
      asHistory([{ eventId: 6, markerRecordedEventAttributes: { details: { 'patch-data': { payloads: [defaultPayloadConverter.toPayload(data)] } } } }]);
    const ok = await scanHistoryForPlaintext(patch({ id: 'commit-from-anchor', deprecated: false }), { codec, secrets: [SECRET], expectEncrypted: [] });
    expect(ok).toMatchObject({ violations: [], payloads: { sdkMetadata: 1 } });
    const smuggled = await scanHistoryForPlaintext(patch({ id: 'x', deprecated: false, prompt: 'y' }), { codec, secrets: [SECRET], expectEncrypted: [] });
    expect(smuggled.violations).toEqual([expect.stringMatching(/^event 6\.markerRecordedEventAttributes.*: payload stored unencrypted/)]);
  });

  test('failure messages and search attributes are searched too', async () => {
    const history = asHistory([
        {
          eventId: 7,
          workflowExecutionFailedEventAttributes: { failure: { message: `template error near "${SECRET}"`, stackTrace: '' } },
        },
        {
          eventId: 8,
          upsertWorkflowSearchAttributesEventAttributes: {
            searchAttributes: { indexedFields: { Prompt: defaultPayloadConverter.toPayload(SECRET) } },
          },
        },
    ]);
    const report = await scanHistoryForPlaintext(history, { codec, secrets: [SECRET], expectEncrypted: [] });
    expect(report.payloads.searchAttributes).toBe(1);
    expect(report.violations).toEqual([
      expect.stringMatching(/^event 7\.workflowExecutionFailedEventAttributes\.failure\.message: contains "capital of France" in clear/),
      expect.stringMatching(/^event 8\..*indexedFields\.Prompt\.data: bytes contain "capital of France" in clear/),
    ]);
  });
});

describe('a real run with the codec switched off', () => {
  let network: TestNetwork;

  beforeAll(async () => {
    network = await startTestNetwork({ codec: false, policy: { sampleProbability: 0 }, operatorNames: ['alpha'] });
  }, 240_000);

  afterAll(async () => {
    await network?.stop();
  });

  test('fails the check: the prompt and the result sit in history in clear', async () => {
    const userId = `user-${randomUUID()}`;
    await network.fund(userId, 100_000);
    const handle = await network.client.workflow.start('inferenceWorkflow', {
      taskQueue: COORDINATOR_TASK_QUEUE,
      workflowId: `request-${randomUUID()}`,
      args: [{ userId, model: TEST_MODEL, messages: FRANCE_MESSAGES, maxNewTokens: 32 }],
    });
    const result = (await handle.result()) as InferenceResult;
    expect(result.text).toBe(FRANCE_32_TEXT); // the run itself is fine: only its history is not private

    const history = await handle.fetchHistory();
    const options = { codec: network.codec, secrets: [SECRET, 'Southern abundjoint'] };
    await expect(expectNoPlaintextInHistory(history, options)).rejects.toThrow(/plaintext in Temporal history/);
    const { violations } = await scanHistoryForPlaintext(history, options);
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^event 1\.workflowExecutionStartedEventAttributes\.input\.payloads\[0\]: payload stored unencrypted/),
        expect.stringMatching(/input\.payloads\[0\]\.data: bytes contain "capital of France" in clear/),
        expect.stringMatching(/bytes contain "Southern abundjoint" in clear/),
      ]),
    );
  }, 120_000);
});
