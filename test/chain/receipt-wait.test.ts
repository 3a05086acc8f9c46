/**
 * waitForReceipt (src/chain/clients.ts) on a real anvil with automine: once the chain is a few hundred blocks long,
 * anvil answers most sends a moment before it seals their block. viem's own wait then misses the receipt at its one
 * check and goes on to watch blocks, where a second miss (a busy machine: the pipeline under load) waits a whole
 * polling interval (250 ms). Counted in eth_blockNumber requests (the block watch), not in milliseconds; the time
 * is the bench's (12 Anchor · 14 Settle).
 */
import { createPublicClient, defineChain, http, type Chain, type Hex, type PublicClient, type Transport } from 'viem';
import { ANVIL_DEV_ACCOUNTS, startAnvil, type AnvilHandle } from '../../src/chain/anvil.js';
import { createChainClients, waitForReceipt } from '../../src/chain/clients.js';
import { rpcFetch } from '../../src/chain/rpc-fetch.js';
import { getFreePort } from '../../src/shared/ports.js';

const SENDS = 20;
let anvil: AnvilHandle;
let send: () => Promise<Hex>;
let blockNumberCalls = 0;
let counting: PublicClient<Transport, Chain>;

beforeAll(async () => {
  anvil = await startAnvil({ port: await getFreePort() });
  const { walletClient, account } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEV_ACCOUNTS[1]!.privateKey });
  send = () => walletClient.sendTransaction({ to: account.address, value: 1n });
  const chain = defineChain({ id: anvil.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.rpcUrl] } } });
  // The coordinator's own fetch (src/chain/rpc-fetch.ts), counting the methods it carries.
  const fetchRpc = rpcFetch();
  const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as { method: string } | Array<{ method: string }>;
    blockNumberCalls += (Array.isArray(body) ? body : [body]).filter((call) => call.method === 'eth_blockNumber').length;
    return fetchRpc(url, init);
  }) as typeof fetch;
  const transport = http(anvil.rpcUrl, { fetchFn });
  counting = createPublicClient({ chain, transport, pollingInterval: 250 });
  // A chain some hundreds of blocks long, where anvil's answer usually comes before its block.
  for (let i = 0; i < 600; i += 1) await send();
});

afterAll(async () => {
  await anvil?.stop();
});

/** How many of SENDS sends `wait` resolved only through viem's block watch. */
async function sendsThatPolled(wait: (hash: Hex) => Promise<{ status: string }>): Promise<number> {
  let polled = 0;
  for (let i = 0; i < SENDS; i += 1) {
    const before = blockNumberCalls;
    const receipt = await wait(await send());
    expect(receipt.status).toBe('success');
    if (blockNumberCalls > before) polled += 1;
  }
  return polled;
}

test("viem's wait alone misses the receipt at its first check for many sends on a long automine chain and watches blocks", async () => {
  expect(await sendsThatPolled((hash) => counting.waitForTransactionReceipt({ hash }))).toBeGreaterThanOrEqual(SENDS / 4);
});

test('waitForReceipt finds the receipt in its quick re-checks instead of watching blocks', async () => {
  // A send that anvil seals later than the re-checks (a stalled machine) may still poll: at most a few of them.
  expect(await sendsThatPolled((hash) => waitForReceipt(counting, { hash, confirmations: 1 }))).toBeLessThanOrEqual(2);
});

test('with several confirmations waitForReceipt leaves the wait to viem (the block count decides)', async () => {
  const hash = await send();
  const before = blockNumberCalls;
  const waiting = waitForReceipt(counting, { hash, confirmations: 2 });
  await send(); // the next block gives the second confirmation
  expect((await waiting).status).toBe('success');
  expect(blockNumberCalls).toBeGreaterThan(before);
});
