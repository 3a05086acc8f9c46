/**
 * The one "no plaintext in Temporal history" check (invariant 2), used by every test that claims it.
 *
 * It walks the raw history as the server stores it (no data converter), so it sees exactly what an engineer with
 * namespace access, a database dump or the Web UI without the codec would see:
 *  - every payload (inputs, results, local-activity markers, heartbeat details, failure details and encoded
 *    attributes, memos, headers) must be `binary/encrypted` by the coordinator's codec (or sealed to the
 *    coordinator's box key by an operator: its failures and heartbeats), except operator wire
 *    messages (public data + sealed envelopes) and search attributes (plain by Temporal's design);
 *  - every encrypted payload must open with the codec (it is our ciphertext, not garbage);
 *  - no byte string and no text field anywhere (payload bytes, failure messages, stack traces, search attributes,
 *    summaries) contains a secret, in UTF-8 or in base64 at any byte alignment;
 *  - positive control: each secret expected in the run must be found after decryption, which proves that the scan
 *    looked at the run that carried it and would have found it in clear.
 */
import type { PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { ENCRYPTED_ENCODING } from '../../src/codec/encryption-codec.js';
import { SEALED_TO_COORDINATOR_ENCODING } from '../../src/codec/sealed-payload.js';
import { isOperatorWireMessage } from '../../src/protocol/operator-wire.js';

type History = temporal.api.history.v1.IHistory;
type Payload = temporal.api.common.v1.IPayload;

export interface PlaintextScanOptions {
  /** Texts that must never appear in clear: prompt fragments, the result, error texts. At least 8 characters each. */
  secrets: string[];
  /** The coordinator's codec: every encrypted payload must open with it. */
  codec: PayloadCodec;
  /**
   * Secrets that must be found inside the decrypted payloads (default: all of `secrets`). Leave out those that
   * should be absent from the run altogether (e.g. an operator's error text).
   */
  expectEncrypted?: string[];
}

export interface PlaintextScanReport {
  events: number;
  payloads: { encrypted: number; operatorWire: number; searchAttributes: number; sdkMetadata: number };
  /** What is wrong, one line each with the path in the history; empty when the history is clean. */
  violations: string[];
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function isPayload(value: unknown): value is Payload {
  if (typeof value !== 'object' || value === null || !('metadata' in value)) return false;
  const metadata = (value as Payload).metadata;
  return typeof metadata === 'object' && metadata !== null && metadata.encoding instanceof Uint8Array;
}

const LOCAL_ACTIVITY_MARKER_KEYS = new Set(['seq', 'attempt', 'activity_id', 'activity_type', 'complete_time', 'backoff', 'original_schedule_time']);

/** The SDK core's local-activity marker data: only its known bookkeeping fields, no strings beyond ids and the type. */
function isLocalActivityMarkerData(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.includes('activity_type') && keys.every((key) => LOCAL_ACTIVITY_MARKER_KEYS.has(key));
}

/** The SDK core's patch marker data: the patch id and whether it is deprecated, nothing else. */
function isPatchMarkerData(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { id, deprecated, ...rest } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof deprecated === 'boolean' && Object.keys(rest).length === 0;
}

/** The base64 texts that a secret's bytes produce at byte offsets 0, 1 and 2 of a longer buffer. */
export function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms: string[] = [];
  for (let offset = 0; offset < 3; offset += 1) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Only 3-byte groups lying wholly inside the secret encode the same whatever surrounds it.
    const first = Math.ceil(offset / 3);
    const last = Math.floor((offset + bytes.length) / 3);
    const form = encoded.slice(first * 4, last * 4);
    if (form.length >= 8) forms.push(form);
  }
  return forms;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle));
}

export async function scanHistoryForPlaintext(history: History, options: PlaintextScanOptions): Promise<PlaintextScanReport> {
  for (const secret of options.secrets) {
    if (secret.length < 8) throw new Error(`secret "${secret}" is too short to search for without false alarms`);
  }
  const violations: string[] = [];
  const payloads = { encrypted: 0, operatorWire: 0, searchAttributes: 0, sdkMetadata: 0 };
  const decrypted: Uint8Array[] = [];
  const needles = options.secrets.map((secret) => ({ secret, bytes: encoder.encode(secret), base64: base64Forms(secret) }));

  const searchText = (text: string, where: string): void => {
    for (const { secret, base64 } of needles) {
      if (text.includes(secret)) violations.push(`${where}: contains "${secret}" in clear`);
      else if (base64.some((form) => text.includes(form))) violations.push(`${where}: contains "${secret}" base64-encoded`);
    }
  };
  const searchBytes = (bytes: Uint8Array, where: string): void => {
    const text = decoder.decode(bytes); // base64 inside JSON, e.g. a payload of a payload
    for (const { secret, bytes: needle, base64 } of needles) {
      if (indexOfBytes(bytes, needle) >= 0) violations.push(`${where}: bytes contain "${secret}" in clear`);
      else if (base64.some((form) => text.includes(form))) violations.push(`${where}: bytes contain "${secret}" base64-encoded`);
    }
  };

  const checkPayload = async (payload: Payload, where: string): Promise<void> => {
    const encoding = decoder.decode(payload.metadata!.encoding!);
    if (/\.(searchAttributes|indexedFields)\b/.test(where)) {
      payloads.searchAttributes += 1;
      return;
    }
    // Encrypted by the coordinator's codec, or sealed to the coordinator's box key by an operator (its failures).
    if (encoding === ENCRYPTED_ENCODING || encoding === SEALED_TO_COORDINATOR_ENCODING) {
      payloads.encrypted += 1;
      try {
        const [opened] = await options.codec.decode([payload as Parameters<PayloadCodec['decode']>[0][number]]);
        if (opened?.data) decrypted.push(opened.data);
      } catch (error) {
        violations.push(`${where}: encrypted payload does not open with the coordinator's codec (${String(error)})`);
      }
      return;
    }
    if (encoding === 'json/plain' && payload.data) {
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(payload.data));
      } catch {
        value = undefined; // not JSON: a violation below
      }
      if (isOperatorWireMessage(value)) {
        payloads.operatorWire += 1;
        return;
      }
      // The SDK core writes its own bookkeeping without the data converter: of a local activity (seq, attempt, type,
      // times) beside its encrypted result, and of a patch (its id). No user data (its bytes are searched like the rest).
      if (/\.markerRecordedEventAttributes\.details\.data\.payloads\[\d+\]$/.test(where) && isLocalActivityMarkerData(value)) {
        payloads.sdkMetadata += 1;
        return;
      }
      if (/\.markerRecordedEventAttributes\.details\.patch-data\.payloads\[\d+\]$/.test(where) && isPatchMarkerData(value)) {
        payloads.sdkMetadata += 1;
        return;
      }
    }
    violations.push(`${where}: payload stored unencrypted (encoding ${encoding})`);
  };

  const walk = async (value: unknown, where: string): Promise<void> => {
    if (value === null || value === undefined) return;
    if (typeof value === 'string') return searchText(value, where);
    if (value instanceof Uint8Array) return searchBytes(value, where);
    if (typeof value !== 'object') return;
    if (isPayload(value)) await checkPayload(value, where);
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) await walk(item, `${where}[${index}]`);
      return;
    }
    for (const [key, item] of Object.entries(value)) await walk(item, `${where}.${key}`);
  };

  const events = history.events ?? [];
  for (const event of events) await walk(event, `event ${String(event.eventId)}`);

  for (const secret of options.expectEncrypted ?? options.secrets) {
    const needle = encoder.encode(secret);
    if (!decrypted.some((bytes) => indexOfBytes(bytes, needle) >= 0)) {
      violations.push(`"${secret}" was expected in this run's encrypted payloads but is not there: the scan proves nothing`);
    }
  }
  return { events: events.length, payloads, violations };
}

/** Throws with every violation when the history holds plaintext (see scanHistoryForPlaintext). */
export async function expectNoPlaintextInHistory(history: History, options: PlaintextScanOptions): Promise<PlaintextScanReport> {
  const report = await scanHistoryForPlaintext(history, options);
  if (report.violations.length > 0) {
    throw new Error(`plaintext in Temporal history (${report.violations.length}):\n${report.violations.join('\n')}`);
  }
  return report;
}
