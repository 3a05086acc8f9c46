import {
  BaseError,
  ContractFunctionRevertedError,
  createNonceManager,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  defineChain,
  HttpRequestError,
  NonceTooLowError,
  TimeoutError,
  http,
  type Account,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { jsonRpc } from 'viem/nonce';
import { executionRegistryAbi } from './abi.js';
import { rpcFetch } from './rpc-fetch.js';
import {
  ChainError,
  ChainTransactionError,
  ChainUnavailableError,
  InvalidRecordError,
  NotAuthorisedAnchorerError,
  NotRegistryOwnerError,
} from './errors.js';

export interface ChainConnection {
  rpcUrl: string;
  chainId: number;
  privateKey: Hex;
}

export interface ChainClients {
  chain: Chain;
  account: Account;
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  /** Forget cached nonces after a nonce error (the next send asks the node for the pending nonce). */
  resetNonce(): void;
}

function rpcTransport(rpcUrl: string) {
  return http(rpcUrl, { retryCount: 2, timeout: 15_000, fetchFn: rpcFetch() });
}

function chainOf(rpcUrl: string, chainId: number): Chain {
  return defineChain({
    id: chainId,
    name: `parallelix-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** Waits before each re-check of a receipt missing right after its send (30 ms in all). */
const RECEIPT_RECHECK_MS = [2, 4, 8, 16] as const;

/**
 * viem's waitForTransactionReceipt after a few quick re-checks. An instant-seal chain (anvil's automine) answers a
 * send a moment before the block holding it is sealed: ~2 ms, and on a local chain a few hundred blocks long for most
 * sends. viem's wait checks once and then polls at the client's interval, so each such send waited 250 ms for a
 * receipt that existed 2 ms after the hash. On a chain with block times the re-checks find nothing and cost five
 * receipt reads per transaction. With several confirmations viem's wait runs alone (the block count decides).
 */
export async function waitForReceipt(client: PublicClient<Transport, Chain>, params: { hash: Hex; confirmations: number; timeout?: number }): Promise<TransactionReceipt> {
  if (params.confirmations <= 1) {
    for (const wait of [0, ...RECEIPT_RECHECK_MS]) {
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // Not found yet, or an RPC hiccup: viem's wait below retries either.
      const receipt = await client.getTransactionReceipt({ hash: params.hash }).catch(() => null);
      if (receipt) return receipt;
    }
  }
  return client.waitForTransactionReceipt(params);
}

/** A public client for reading only (no key). */
export function createReadClient(rpcUrl: string, chainId: number): PublicClient<Transport, Chain> {
  return createPublicClient({ chain: chainOf(rpcUrl, chainId), transport: rpcTransport(rpcUrl) });
}

export function createChainClients({ rpcUrl, chainId, privateKey }: ChainConnection): ChainClients {
  const chain = chainOf(rpcUrl, chainId);
  // One nonce manager per client, so sends from concurrent activities get distinct nonces and
  // two chains with the same id (a restarted anvil) never share cached nonces.
  const nonceManager = createNonceManager({ source: jsonRpc() });
  const account = privateKeyToAccount(privateKey, { nonceManager });
  const transport = rpcTransport(rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 250 });
  const walletClient = createWalletClient({ chain, transport, account });
  return {
    chain,
    account,
    publicClient,
    walletClient,
    resetNonce: () => nonceManager.reset({ address: account.address, chainId }),
  };
}

/**
 * The registry's custom error a call reverted with, if any (name + args). viem decodes it for
 * simulate/read, but a send that reverts during gas estimation only carries the raw data.
 */
export function revertOf(err: unknown): { errorName: string; args: readonly unknown[] } | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (revert instanceof ContractFunctionRevertedError && revert.data) {
    return { errorName: revert.data.errorName, args: revert.data.args ?? [] };
  }
  let decoded: { errorName: string; args: readonly unknown[] } | undefined;
  err.walk((e) => {
    const data = (e as { data?: unknown }).data;
    if (decoded || typeof data !== 'string' || !/^0x[0-9a-fA-F]{8,}$/.test(data)) return false;
    try {
      const d = decodeErrorResult({ abi: executionRegistryAbi, data: data as Hex });
      decoded = { errorName: d.errorName, args: d.args ?? [] };
    } catch {
      // not one of ours
    }
    return false;
  });
  return decoded;
}

export function isNonceError(err: unknown): boolean {
  if (!(err instanceof BaseError)) return false;
  if (err.walk((e) => e instanceof NonceTooLowError)) return true;
  return /nonce too low|nonce has already been used|replacement transaction underpriced|already known/i.test(
    err.details ?? err.message,
  );
}

function isUnavailable(err: unknown): boolean {
  if (!(err instanceof BaseError)) return false;
  return Boolean(err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError));
}

/** Map a viem (or other) error to the chain's typed errors. */
export function toChainError(err: unknown, action: string): ChainError {
  if (err instanceof ChainError) return err;
  const revert = revertOf(err);
  const short = err instanceof BaseError ? err.shortMessage : err instanceof Error ? err.message : String(err);
  if (revert) {
    const details = `${revert.errorName}(${revert.args.map(String).join(', ')})`;
    switch (revert.errorName) {
      case 'NotAnchorer':
        return new NotAuthorisedAnchorerError(`${action}: account ${String(revert.args[0])} is not an authorised anchorer`, { cause: err });
      case 'NotOwner':
        return new NotRegistryOwnerError(`${action}: account ${String(revert.args[0])} is not the registry owner`, { cause: err });
      case 'InvalidRecord':
      case 'InvalidVerdict':
        return new InvalidRecordError(`${action}: the registry rejected the record`, { details, cause: err });
      default:
        return new ChainTransactionError(`${action}: reverted with ${revert.errorName}`, { details, cause: err });
    }
  }
  if (isUnavailable(err)) return new ChainUnavailableError(`${action}: chain RPC unavailable`, { details: short, cause: err });
  return new ChainTransactionError(`${action} failed`, { details: short, cause: err });
}
