import { createPublicClient, defineChain, http, type Hex } from 'viem';
import type { InferenceResult } from '../src/protocol/inference.js';
import { distribution, type Distribution } from './stats.js';

export interface GasByVerdict {
  verdict: string;
  anchored: number;
  gasUsed: Distribution;
}

/** gasUsed of each anchoring transaction, from its receipt on the local chain, grouped by verdict. */
export async function gasPerAnchoredRecord(rpcUrl: string, chainId: number, results: InferenceResult[]): Promise<GasByVerdict[]> {
  const chain = defineChain({
    id: chainId,
    name: `bench-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const client = createPublicClient({ chain, transport: http(rpcUrl) });
  const byVerdict = new Map<string, number[]>();
  for (const result of results) {
    const receipt = await client.getTransactionReceipt({ hash: result.anchorTx as Hex });
    if (receipt.status !== 'success') throw new Error(`anchor transaction ${result.anchorTx} reverted`);
    const list = byVerdict.get(result.verdict) ?? [];
    list.push(Number(receipt.gasUsed));
    byVerdict.set(result.verdict, list);
  }
  return [...byVerdict.entries()].map(([verdict, gas]) => ({ verdict, anchored: gas.length, gasUsed: distribution(gas) }));
}
