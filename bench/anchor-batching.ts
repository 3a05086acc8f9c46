/**
 * `npm run bench:anchoring [-- --quick]`: step 12 alone against a real anvil, per-record transactions vs group-
 * committed Merkle batches, with automine and with 1 s and 2 s block times (a real chain has blocks: there every
 * anchor also waits for one). Gas per record (receipts), anchor latency per record (submit → receipt), batch sizes.
 * Writes bench/results/anchoring-<timestamp>.json and prints a table.
 */
import './quiet-logs.js';
import { ANVIL_DEV_ACCOUNTS, startAnvil } from '../src/chain/anvil.js';
import { createBatchAnchorer } from '../src/chain/batch-anchoring.js';
import { deployRegistry } from '../src/chain/deploy.js';
import type { ExecutionRecordInput } from '../src/chain/record.js';
import { createRegistryClient } from '../src/chain/registry.js';
import { createAnchorGroupCommit } from '../src/chain/anchor-group-commit.js';
import { createIdentity, publicIdentity, signPoe } from '../src/crypto/index.js';
import { getFreePort } from '../src/shared/ports.js';
import { machineFacts } from './machine.js';
import { distribution, round, type Distribution } from './stats.js';
import { formatTable } from './table.js';
import { runBench, writeBenchResults } from './standalone.js';
import { closedLoop } from './closed-loop.js';

const quick = process.argv.includes('--quick');
const SEQUENTIAL = quick ? 6 : 20;
const CONCURRENCY = 16;
const PER_SLOT = quick ? 4 : 8;
const owner = ANVIL_DEV_ACCOUNTS[0]!;
const signer = createIdentity();
let counter = 0;

/** An unsampled record as the pipeline anchors it (the common case). */
function record(): ExecutionRecordInput {
  counter += 1;
  const poe = Buffer.from(`${counter}-${Date.now()}`.padEnd(32, '.')).subarray(0, 32).toString('hex');
  return {
    requestId: `bench-anchor-${counter}-${Date.now()}`,
    nodeId: publicIdentity(signer).nodeId,
    poe,
    verdict: 'Accepted',
    mode: 'none',
    nodeDevice: 'cpu',
    signPublicKey: publicIdentity(signer).signPublicKey,
    signature: signPoe(poe, signer.sign.secretKey),
  };
}

interface Point {
  chain: string;
  method: 'per-record' | 'batched';
  concurrency: number;
  records: number;
  gasPerRecord: number;
  latencyMs: Distribution;
  transactions: number;
  batchSizes: Distribution | null;
}

type AnchorOne = (r: ExecutionRecordInput) => Promise<{ txHash: string; gasUsed: bigint; batchSize: number }>;

async function anchorInClosedLoop(anchor: AnchorOne, count: number, concurrency: number): Promise<Omit<Point, 'chain' | 'method'>> {
  const latencies: number[] = [];
  const txs = new Map<string, { gas: bigint; size: number }>();
  await closedLoop(count, concurrency, async () => {
    const started = performance.now();
    const done = await anchor(record());
    latencies.push(performance.now() - started);
    txs.set(done.txHash, { gas: done.gasUsed, size: done.batchSize });
  });
  const totalGas = [...txs.values()].reduce((s, t) => s + Number(t.gas), 0);
  return { concurrency, records: count, gasPerRecord: round(totalGas / count, 0), latencyMs: distribution(latencies), transactions: txs.size, batchSizes: distribution([...txs.values()].map((t) => t.size)) };
}

async function measureChain(label: string, blockTimeSeconds: number | undefined): Promise<Point[]> {
  const anvil = await startAnvil({ port: await getFreePort(), ...(blockTimeSeconds !== undefined ? { blockTimeSeconds } : {}) });
  try {
    const { address } = await deployRegistry({ rpcUrl: anvil.rpcUrl, privateKey: owner.privateKey });
    const conn = { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: owner.privateKey, address };
    // Receipts are polled every 250 ms (src/chain/clients.ts), as the coordinator polls them.
    const single = createRegistryClient(conn);
    const group = createAnchorGroupCommit(createBatchAnchorer(conn), { maxBatch: 64 });
    const perRecord: AnchorOne = async (r) => ({ ...(await single.anchorRecord(r)), batchSize: 1 });
    const batched: AnchorOne = async (r) => {
      const a = await group.anchor(r);
      return { txHash: a.txHash, gasUsed: a.batchGasUsed, batchSize: a.batchSize };
    };
    const points: Point[] = [];
    for (const [method, anchor] of [['per-record', perRecord], ['batched', batched]] as const) {
      await anchor(record()); // warm-up
      for (const [concurrency, count] of [[1, SEQUENTIAL], [CONCURRENCY, CONCURRENCY * PER_SLOT]] as const) {
        const point = { chain: label, method, ...(await anchorInClosedLoop(anchor, count, concurrency)) };
        points.push(point);
        console.log(`${label} ${method} c=${concurrency}: ${point.gasPerRecord} gas/record, latency p50 ${point.latencyMs.p50.toFixed(0)} ms, ${point.transactions} transactions`);
      }
    }
    return points;
  } finally {
    await anvil.stop();
  }
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const points: Point[] = [];
  for (const [label, blockTime] of [['automine', undefined], ['1 s blocks', 1], ['2 s blocks', 2]] as const) points.push(...(await measureChain(label, blockTime)));
  console.log(`\nStep 12 alone on anvil (${quick ? 'quick' : 'full'}): unsampled records, group commit up to 64 per batch\n`);
  console.log(
    formatTable(
      ['chain', 'method', 'concurrency', 'records', 'gas/record', 'latency p50 ms', 'latency p95 ms', 'transactions', 'batch size p50 / max'],
      points.map((p) => [p.chain, p.method, p.concurrency, p.records, p.gasPerRecord, p.latencyMs.p50, p.latencyMs.p95, p.transactions, p.batchSizes ? `${p.batchSizes.p50} / ${p.batchSizes.max}` : '']),
    ),
  );
  const file = writeBenchResults('anchoring', startedAt, { mode: quick ? 'quick' : 'full', machine: machineFacts(), points });
  console.log(`\nresults: ${file}`);
}

runBench(main);
