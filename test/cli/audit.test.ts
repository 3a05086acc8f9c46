/**
 * `parallelix audit` catches each kind of inconsistency it claims to check: for every check, the database is
 * tampered in the one way that check exists for, the audit (a real CLI process) must exit 4 naming that check as a
 * mismatch, and after the row is put back the audit is consistent again. (A tampered database PoE, tamperings of the
 * ledger by settlement order and double rewards are in commands.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { createParallelixClient } from '../../src/sdk/index.js';
import { jsonOutput, runCli } from '../helpers/cli-process.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { codecKeyFile, coordinatorKeyDir } from '../../src/codec/codec-key.js';

const EXIT = { ok: 0, auditMismatch: 4 };

let network: TestNetwork;
let requestId: string;
let otherNode: string;

interface AuditJson {
  status: string;
  checks: { name: string; outcome: string; detail: string }[];
}

async function audit(id = requestId): Promise<{ code: number | null; report: AuditJson }> {
  const { code, output } = await runCli(['audit', id, '--json'], { ...network.cliEnv(), PARALLELIX_LOG_LEVEL: 'warn' });
  return { code, report: jsonOutput<AuditJson>(output) };
}

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha', 'beta'] });
  const user = `user-${randomUUID()}`;
  await network.fund(user, 100_000);
  const px = await createParallelixClient({
    address: network.temporal.server.address,
    namespace: network.temporal.server.namespace,
    codecKeyFile: codecKeyFile(coordinatorKeyDir(network.stateRoot)),
  });
  try {
    const handle = await px.submit({ userId: user, model: TEST_MODEL, messages: [{ role: 'user', content: 'Name a colour.' }], maxNewTokens: 16 });
    ({ requestId } = await handle.result());
  } finally {
    await px.close();
  }
  const record = await network.db.executionRecord.findUniqueOrThrow({ where: { requestId } });
  otherNode = [...network.operators.values()].map((op) => op.nodeId).find((id) => id !== record.nodeId)!;
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

test('the untouched request audits consistent', async () => {
  const { code, report } = await audit();
  expect(report.checks.filter((c) => c.outcome !== 'ok')).toEqual([]);
  expect([code, report.status]).toEqual([EXIT.ok, 'consistent']);
});

/** One tampering: what to change (SQL on the request's rows, $1 = request id, $2 = another node), how to restore it. */
interface Tampering {
  checks: string[];
  tamper: string;
  restore: string;
}

const tamperings: Record<string, Tampering> = {
  'a record naming another node': {
    // The node's key, signature and reward no longer fit either: each check says so.
    checks: [
      'node: chain = database',
      'PoE recomputed from the result',
      'anchored key and signature = node and database',
      'node signature over the PoE',
      'ledger: delivering node rewarded once, no penalised node rewarded',
    ],
    tamper: `UPDATE "ExecutionRecord" SET "nodeId" = $2 WHERE "requestId" = $1`,
    restore: `UPDATE "ExecutionRecord" e SET "nodeId" = r."nodeId" FROM "InferenceRequest" r WHERE r."requestId" = e."requestId" AND e."requestId" = $1`,
  },
  'another verdict': {
    checks: ['verdict: chain = database'],
    tamper: `UPDATE "ExecutionRecord" SET "verdict" = 'AGREED' WHERE "requestId" = $1`,
    restore: `UPDATE "ExecutionRecord" SET "verdict" = 'UNSAMPLED' WHERE "requestId" = $1`,
  },
  'a sampled node where none was': {
    checks: ['sampled node: chain = database'],
    tamper: `UPDATE "ExecutionRecord" SET "sampledNodeId" = $2 WHERE "requestId" = $1`,
    restore: `UPDATE "ExecutionRecord" SET "sampledNodeId" = NULL WHERE "requestId" = $1`,
  },
  'another sample mode': {
    checks: ['sample mode and scores: chain = database'],
    tamper: `UPDATE "ExecutionRecord" SET "mode" = 'TOLERANT' WHERE "requestId" = $1`,
    restore: `UPDATE "ExecutionRecord" SET "mode" = 'NONE' WHERE "requestId" = $1`,
  },
  'another device': {
    checks: ['devices: chain = database'],
    tamper: `UPDATE "ExecutionRecord" SET "nodeDevice" = 'webgpu' WHERE "requestId" = $1`,
    restore: `UPDATE "ExecutionRecord" SET "nodeDevice" = 'cpu' WHERE "requestId" = $1`,
  },
  'another signature': {
    checks: ['anchored key and signature = node and database'],
    tamper: `UPDATE "ExecutionRecord" SET "signature" = reverse("signature") WHERE "requestId" = $1`,
    restore: `UPDATE "ExecutionRecord" SET "signature" = reverse("signature") WHERE "requestId" = $1`,
  },
  "another key registered for the node": {
    checks: ['anchored key and signature = node and database', 'node signature over the PoE'],
    tamper: `UPDATE "Node" n SET "signPublicKey" = reverse(n."signPublicKey") FROM "ExecutionRecord" e WHERE e."nodeId" = n."nodeId" AND e."requestId" = $1`,
    restore: `UPDATE "Node" n SET "signPublicKey" = reverse(n."signPublicKey") FROM "ExecutionRecord" e WHERE e."nodeId" = n."nodeId" AND e."requestId" = $1`,
  },
  'an anchor transaction that is not on chain': {
    checks: ['anchor transaction', 'anchor tx: result = database'],
    tamper: `UPDATE "ExecutionRecord" SET "anchorTxHash" = '0x' || repeat('7', 64) || substr("anchorTxHash", 3) WHERE "requestId" = $1`,
    restore: `UPDATE "ExecutionRecord" SET "anchorTxHash" = '0x' || substr("anchorTxHash", 67) WHERE "requestId" = $1`,
  },
  'a request cost other than the capture': {
    checks: ['ledger: hold captured once for the metered cost'],
    tamper: `UPDATE "InferenceRequest" SET "actualCost" = "actualCost" + 1 WHERE "requestId" = $1`,
    restore: `UPDATE "InferenceRequest" SET "actualCost" = "actualCost" - 1 WHERE "requestId" = $1`,
  },
  'a release entry that does not add up': {
    checks: ['ledger: the rest of the hold released once'],
    tamper: `UPDATE "CreditLedgerEntry" SET "amount" = "amount" + 1 WHERE "requestId" = $1 AND "kind" = 'RELEASE'`,
    restore: `UPDATE "CreditLedgerEntry" SET "amount" = "amount" - 1 WHERE "requestId" = $1 AND "kind" = 'RELEASE'`,
  },
  'the reward paid to another node': {
    checks: ['ledger: delivering node rewarded once, no penalised node rewarded'],
    tamper: `UPDATE "RewardLedgerEntry" SET "nodeId" = $2 WHERE "requestId" = $1 AND "kind" = 'EXECUTION'`,
    restore: `UPDATE "RewardLedgerEntry" w SET "nodeId" = e."nodeId" FROM "ExecutionRecord" e WHERE e."requestId" = w."requestId" AND w."requestId" = $1`,
  },
};

/** Runs one statement of a tampering with the parameters it uses. */
function execute(sql: string): Promise<number> {
  return network.db.$executeRawUnsafe(sql, ...(sql.includes('$2') ? [requestId, otherNode] : [requestId]));
}

test.each(Object.keys(tamperings))('%s: exit 4, naming the check', async (name) => {
  const { checks, tamper, restore } = tamperings[name]!;
  expect(await execute(tamper)).toBe(1);
  try {
    const { code, report } = await audit();
    const mismatched = report.checks.filter((c) => c.outcome === 'mismatch').map((c) => c.name);
    expect([code, report.status]).toEqual([EXIT.auditMismatch, 'inconsistent']);
    expect(mismatched.sort()).toEqual([...checks].sort());
  } finally {
    expect(await execute(restore)).toBe(1);
  }
  expect((await audit()).code).toBe(EXIT.ok);
}, 120_000);

test('a record only in the database (never anchored) and a request without its record row', async () => {
  // A copy of the request under a new id, with its record but no anchor: the chain has nothing for it.
  const copy = randomUUID();
  const { db } = network;
  await db.$executeRawUnsafe(
    `INSERT INTO "InferenceRequest" ("id", "requestId", "workflowId", "userId", "model", "status", "step", "nodeId", "maxCost", "actualCost", "updatedAt")
     SELECT gen_random_uuid(), $2, "workflowId" || '-copy', "userId", "model", "status", "step", "nodeId", "maxCost", "actualCost", now() FROM "InferenceRequest" WHERE "requestId" = $1`,
    requestId,
    copy,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO "ExecutionRecord" ("id", "requestId", "nodeId", "poe", "verdict", "mode")
     SELECT gen_random_uuid(), $2, "nodeId", "poe", "verdict", "mode" FROM "ExecutionRecord" WHERE "requestId" = $1`,
    requestId,
    copy,
  );
  const unanchored = await audit(copy);
  expect(unanchored.code).toBe(EXIT.auditMismatch);
  expect(unanchored.report.checks.find((c) => c.name === 'anchored on chain')?.outcome).toBe('mismatch');

  const saved = await db.executionRecord.findUniqueOrThrow({ where: { requestId } });
  await db.executionRecord.delete({ where: { requestId } });
  try {
    const missing = await audit();
    expect(missing.code).toBe(EXIT.auditMismatch);
    expect(missing.report.checks.find((c) => c.name === 'execution record in database')?.outcome).toBe('mismatch');
  } finally {
    await db.executionRecord.create({ data: saved as Parameters<typeof db.executionRecord.create>[0]['data'] });
  }
  expect((await audit()).code).toBe(EXIT.ok);
}, 120_000);
