import { say } from './output.js';

/** Left-aligned columns padded to their widest cell, two spaces apart, the header first. */
export function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

export function printTable(header: string[], rows: string[][]): void {
  for (const line of formatTable(header, rows)) say(line);
}
