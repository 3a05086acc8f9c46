import { getAddress, isAddress, type Address } from 'viem';
import { createRegistryClient } from '../../chain/registry.js';
import { resolveAnchorerKey, resolveChainReader } from '../../config/connections.js';
import { ConfigError } from '../../shared/errors.js';
import { say } from '../output.js';

/**
 * `parallelix registry add-anchorer|remove-anchorer <address>`: the registry owner (PARALLELIX_CHAIN_PRIVATE_KEY,
 * or the local stack's deployer) authorises or withdraws an anchoring account. Idempotent on chain.
 */
export async function registryAnchorerCommand(action: 'add' | 'remove', address: string): Promise<void> {
  if (!isAddress(address, { strict: false })) throw new ConfigError(`${address} is not an account address (0x + 40 hex characters)`);
  const who: Address = getAddress(address);
  const chain = resolveChainReader();
  const registry = createRegistryClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, address: chain.registryAddress, privateKey: resolveAnchorerKey().key });
  await registry.verify();
  const { txHash } = action === 'add' ? await registry.addAnchorer(who) : await registry.removeAnchorer(who);
  const now = await registry.isAnchorer(who);
  say(`${who} ${now ? 'may' : 'may not'} anchor on registry ${chain.registryAddress} (tx ${txHash})`);
}
