import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPublicClient, getAddress, http, type Address, type Hex } from 'viem';
import { stateDir } from '../shared/paths.js';
import { createLogger } from '../shared/logger.js';
import { executionRegistryAbi } from './abi.js';
import { loadRegistryArtifact } from './artifact.js';
import { createChainClients, toChainError, waitForReceipt } from './clients.js';
import { ChainTransactionError } from './errors.js';

const log = createLogger('chain-deploy');

export interface DeployRegistryParams {
  rpcUrl: string;
  privateKey: Hex;
  /** Asked from the node when absent. */
  chainId?: number;
  confirmations?: number;
}

export interface DeployedRegistry {
  address: Address;
  txHash: Hex;
  gasUsed: bigint;
  blockNumber: bigint;
  chainId: number;
}

async function resolveChainId(rpcUrl: string, chainId: number | undefined): Promise<number> {
  if (chainId !== undefined) return chainId;
  try {
    return await createPublicClient({ transport: http(rpcUrl, { retryCount: 2, timeout: 15_000 }) }).getChainId();
  } catch (err) {
    throw toChainError(err, 'read chain id');
  }
}

/** Deploy a fresh ExecutionRegistry; the deploying account becomes owner and first anchorer. */
export async function deployRegistry(params: DeployRegistryParams): Promise<DeployedRegistry> {
  const chainId = await resolveChainId(params.rpcUrl, params.chainId);
  const { publicClient, walletClient } = createChainClients({ rpcUrl: params.rpcUrl, chainId, privateKey: params.privateKey });
  const artifact = loadRegistryArtifact();
  try {
    const txHash = await walletClient.deployContract({ abi: executionRegistryAbi, bytecode: artifact.bytecode });
    const receipt = await waitForReceipt(publicClient, { hash: txHash, confirmations: params.confirmations ?? 1 });
    if (receipt.status !== 'success' || !receipt.contractAddress) {
      throw new ChainTransactionError('registry deployment reverted', { details: `tx ${txHash}` });
    }
    const deployed = {
      address: getAddress(receipt.contractAddress),
      txHash,
      gasUsed: receipt.gasUsed,
      blockNumber: receipt.blockNumber,
      chainId,
    };
    log.info({ address: deployed.address, txHash, gasUsed: Number(receipt.gasUsed), chainId }, 'registry deployed');
    return deployed;
  } catch (err) {
    throw toChainError(err, 'deploy registry');
  }
}

/** What ensureRegistry remembers in stateDir()/chain.json. */
export interface StoredDeployment {
  chainId: number;
  rpcUrl: string;
  address: Address;
  txHash: Hex;
  blockNumber: string;
  deployedAt: string;
}

export interface EnsureRegistryParams extends DeployRegistryParams {
  /** Default: stateDir()/chain.json. */
  file?: string;
}

export interface EnsuredRegistry {
  address: Address;
  txHash: Hex;
  chainId: number;
  /** True when this call deployed a new contract. */
  deployed: boolean;
}

export function chainStateFile(): string {
  return path.join(stateDir(), 'chain.json');
}

function readStored(file: string): StoredDeployment | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StoredDeployment;
  } catch {
    return undefined;
  }
}

/**
 * Reuse the registry recorded in chain.json when the chain still holds exactly our runtime code
 * at that address (same chain id); otherwise deploy and record the new address.
 */
export async function ensureRegistry(params: EnsureRegistryParams): Promise<EnsuredRegistry> {
  const file = params.file ?? chainStateFile();
  const chainId = await resolveChainId(params.rpcUrl, params.chainId);
  const stored = readStored(file);
  if (stored && stored.chainId === chainId) {
    const { publicClient } = createChainClients({ rpcUrl: params.rpcUrl, chainId, privateKey: params.privateKey });
    let code: Hex | undefined;
    try {
      code = await publicClient.getCode({ address: stored.address });
    } catch (err) {
      throw toChainError(err, 'read registry code');
    }
    if (code && code.toLowerCase() === loadRegistryArtifact().deployedBytecode.toLowerCase()) {
      log.info({ address: stored.address, chainId }, 'reusing deployed registry');
      return { address: stored.address, txHash: stored.txHash, chainId, deployed: false };
    }
    log.info({ address: stored.address, chainId, codePresent: Boolean(code && code !== '0x') }, 'stored registry missing or outdated; redeploying');
  }
  const fresh = await deployRegistry({ ...params, chainId });
  const record: StoredDeployment = {
    chainId,
    rpcUrl: params.rpcUrl,
    address: fresh.address,
    txHash: fresh.txHash,
    blockNumber: fresh.blockNumber.toString(),
    deployedAt: new Date().toISOString(),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, file);
  return { address: fresh.address, txHash: fresh.txHash, chainId, deployed: true };
}
