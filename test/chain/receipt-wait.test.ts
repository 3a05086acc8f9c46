/**
 * waitForReceipt (src/chain/clients.ts). Anvil's automine answers a send a moment (~2 ms) before it seals the block,
 * and on a chain a few hundred blocks long it does so for most sends; viem's own wait checks once and then watches
 * blocks, where a second miss waits a whole polling interval (250 ms). How often anvil is late depends on the
 * machine's load, so the re-checks are tested on a scripted client, and on a real anvil for what a chain answers.
 */
import type { Chain, Hex, PublicClient, TransactionReceipt, Transport } from 'viem';
import { TransactionReceiptNotFoundError, createPublicClient, defineChain, http } from 'viem';
import { ANVIL_DEV_ACCOUNTS, startAnvil, type AnvilHandle } from '../../src/chain/anvil.js';
import { createChainClients, waitForReceipt } from '../../src/chain/clients.js';
import { rpcFetch } from '../../src/chain/rpc-fetch.js';
import { getFreePort } from '../../src/shared/ports.js';

const HASH = `0x${'ab'.repeat(32)}` as Hex;

/** A client whose receipt exists from its `sealedAt`-th read on (Infinity: never), and whose viem wait is recorded. */
function scriptedClient(sealedAt: number) {
  const receipt = { transactionHash: HASH, status: 'success' } as TransactionReceipt;
  const calls = { reads: 0, viemWaits: [] as unknown[] };
  const client = {
    getTransactionReceipt: async () => {
      calls.reads += 1;
      if (calls.reads < sealedAt) throw new TransactionReceiptNotFoundError({ hash: HASH });
      return receipt;
    },
    waitForTransactionReceipt: async (params: unknown) => {
      calls.viemWaits.push(params);
      return receipt;
    },
  } as unknown as PublicClient<Transport, Chain>;
  return { client, calls, receipt };
}

test('a receipt sealed just after the send is found by the re-checks, without viem\'s block watch', async () => {
  const { client, calls, receipt } = scriptedClient(3);
  await expect(waitForReceipt(client, { hash: HASH, confirmations: 1, timeout: 1000 })).resolves.toBe(receipt);
  expect(calls).toEqual({ reads: 3, viemWaits: [] });
});

test('a receipt not there after the re-checks (a chain with block times) is left to viem\'s wait, with the same parameters', async () => {
  const { client, calls } = scriptedClient(Number.POSITIVE_INFINITY);
  await waitForReceipt(client, { hash: HASH, confirmations: 1, timeout: 1000 });
  expect(calls.reads).toBe(5);
  expect(calls.viemWaits).toEqual([{ hash: HASH, confirmations: 1, timeout: 1000 }]);
});

test('with several confirmations viem\'s wait decides alone (the block count, not the receipt)', async () => {
  const { client, calls } = scriptedClient(1);
  await waitForReceipt(client, { hash: HASH, confirmations: 2, timeout: 1000 });
  expect(calls).toEqual({ reads: 0, viemWaits: [{ hash: HASH, confirmations: 2, timeout: 1000 }] });
});

describe('on a real anvil 600 blocks long', () => {
  let anvil: AnvilHandle;
  let send: () => Promise<Hex>;
  let blockNumberCalls = 0;
  let counting: PublicClient<Transport, Chain>;

  beforeAll(async () => {
    anvil = await startAnvil({ port: await getFreePort() });
    const { walletClient, account } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEV_ACCOUNTS[1]!.privateKey });
    send = () => walletClient.sendTransaction({ to: account.address, value: 1n });
    const chain = defineChain({ id: anvil.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.rpcUrl] } } });
    // The coordinator's own fetch (src/chain/rpc-fetch.ts), counting viem's block watch (eth_blockNumber).
    const fetchRpc = rpcFetch();
    const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body)) as { method: string } | Array<{ method: string }>;
      blockNumberCalls += (Array.isArray(body) ? body : [body]).filter((call) => call.method === 'eth_blockNumber').length;
      return fetchRpc(url, init);
    }) as typeof fetch;
    counting = createPublicClient({ chain, transport: http(anvil.rpcUrl, { fetchFn }), pollingInterval: 250 });
    for (let i = 0; i < 600; i += 1) await send();
  });

  afterAll(async () => {
    await anvil?.stop();
  });

  test('every send\'s receipt comes from the re-checks; viem\'s block watch only for a stalled machine (at most 5 of 20)', async () => {
    let watched = 0;
    for (let i = 0; i < 20; i += 1) {
      const before = blockNumberCalls;
      const hash = await send();
      const receipt = await waitForReceipt(counting, { hash, confirmations: 1 });
      expect(receipt).toMatchObject({ transactionHash: hash, status: 'success' });
      if (blockNumberCalls > before) watched += 1;
    }
    expect(watched).toBeLessThanOrEqual(5);
  });

  test('with 2 confirmations the receipt comes once the next block is sealed', async () => {
    const hash = await send();
    const waiting = waitForReceipt(counting, { hash, confirmations: 2 });
    await send();
    await expect(waiting).resolves.toMatchObject({ transactionHash: hash, status: 'success' });
  });
});
