import { randomUUID } from 'node:crypto';
import { getBalance, topUp } from '../../db/credits.js';
import { InvalidInputError } from '../../shared/errors.js';
import { openDatabase } from '../../config/connections.js';
import { say } from '../output.js';
import { printTable } from '../table.js';
import { withSpinner } from '../spinner.js';

/** Credits are integer micro-credits; JSON carries them as decimal strings (they can exceed 2^53). */
export function parseAmount(value: string): bigint {
  if (!/^[1-9]\d{0,30}$/.test(value)) throw new InvalidInputError(`amount must be a positive integer (micro-credits), got ${JSON.stringify(value)}`);
  return BigInt(value);
}

function printBalance(userId: string, amounts: { balance: bigint; held: bigint }): void {
  printTable(['USER', 'BALANCE', 'HELD'], [[userId, amounts.balance.toString(), amounts.held.toString()]]);
  say('(micro-credits; BALANCE is spendable, HELD is reserved by requests in flight)');
}

/** `parallelix credits topup <userId> <amount>`: applied once per (user, key); a random key when none is given. */
export async function creditsTopupCommand(userId: string, amountText: string, flags: { key?: string; json?: boolean }): Promise<void> {
  const amount = parseAmount(amountText);
  const key = flags.key ?? `cli-${randomUUID()}`;
  const db = openDatabase();
  try {
    const result = await withSpinner(`topping up ${userId}`, () => topUp(db, userId, amount, key), flags);
    if (flags.json) {
      say(JSON.stringify({ userId, amount: amount.toString(), idempotencyKey: key, applied: result.applied, balance: result.balance.toString(), held: result.held.toString() }));
    } else {
      say(result.applied ? `topped up ${userId} by ${amount}` : `top-up key ${key} was already applied for ${userId}: nothing changed`);
      printBalance(userId, result);
    }
  } finally {
    await db.$disconnect();
  }
}

/** `parallelix credits balance <userId>`: spendable and held (zeros for an unknown user). */
export async function creditsBalanceCommand(userId: string, flags: { json?: boolean }): Promise<void> {
  const db = openDatabase();
  try {
    const balance = await withSpinner(`reading ${userId}`, () => getBalance(db, userId), flags);
    if (flags.json) say(JSON.stringify({ userId, balance: balance.balance.toString(), held: balance.held.toString() }));
    else printBalance(userId, balance);
  } finally {
    await db.$disconnect();
  }
}
