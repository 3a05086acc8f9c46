import { InvalidInputError } from '../shared/errors.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Deterministic JSON for signing: object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings as JSON.stringify writes them. Rejects values JSON cannot round-trip
 * (undefined, functions, non-finite numbers, non-plain objects) instead of dropping them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidInputError('Canonical JSON: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new InvalidInputError('Canonical JSON: not a plain object');
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  throw new InvalidInputError(`Canonical JSON: unsupported ${typeof value}`);
}
