import { readFileSync } from 'node:fs';
import { resolveChainReader } from '../../config/connections.js';
import { verifyResult } from '../../sdk/verify.js';
import { InvalidInputError } from '../../shared/errors.js';
import { VerifyMismatchError } from '../errors.js';
import { say } from '../output.js';
import { withSpinner } from '../spinner.js';

async function readInput(file: string | undefined): Promise<string> {
  if (file && file !== '-') return readFileSync(file, 'utf8');
  if (process.stdin.isTTY) throw new InvalidInputError('give the JSON that `parallelix submit --json` printed, as a file argument or on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `parallelix verify [file]`: checks a `submit --json` result against the chain alone (record, PoE recomputed
 * from the text, the node's anchored key and signature, verdict and mode). Exit 0 when everything holds, 4 on
 * any mismatch, 2 for input that is not such a result.
 */
export async function verifyCommand(file: string | undefined, flags: { json?: boolean }): Promise<void> {
  const raw = await readInput(file);
  let held: unknown;
  try {
    held = JSON.parse(raw);
  } catch (error) {
    throw new InvalidInputError('the input is not JSON', { details: error instanceof Error ? error.message : String(error) });
  }
  const chain = resolveChainReader();
  const report = await withSpinner('checking against the chain', () => verifyResult(held, chain), flags);
  if (flags.json) {
    say(JSON.stringify({ requestId: report.requestId, ok: report.ok, checks: report.checks, record: report.record }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
  } else {
    say(`verification of request ${report.requestId} against registry ${chain.registryAddress} (chain ${chain.chainId})`);
    for (const c of report.checks) say(`  ${c.ok ? 'ok      ' : 'MISMATCH'}  ${c.name}: ${c.detail}`);
    say(report.ok ? 'verified' : 'NOT VERIFIED');
  }
  if (!report.ok) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
    throw new VerifyMismatchError(`verification of ${report.requestId} failed: ${failed.join('; ')}`);
  }
}
