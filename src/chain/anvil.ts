import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { toHex, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { ProvisioningError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { spawnService, type ServiceProcess } from '../shared/service-process.js';

const log = createLogger('anvil');
const require = createRequire(import.meta.url);

/** anvil's well-known default mnemonic: public, for the local dev chain only. */
export const ANVIL_DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const ANVIL_CHAIN_ID = 31337;

/** The first dev accounts of ANVIL_DEV_MNEMONIC (m/44'/60'/0'/0/i); index 0 deploys and anchors locally. */
export const ANVIL_DEV_ACCOUNTS: readonly { address: Hex; privateKey: Hex }[] = [
  {
    address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    privateKey: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  },
  {
    address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  },
  {
    address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    privateKey: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  },
];
export const ANVIL_DEPLOYER_PRIVATE_KEY: Hex = ANVIL_DEV_ACCOUNTS[0]!.privateKey;

/** anvil funds the first ten accounts of its mnemonic. */
export const ANVIL_FUNDED_ACCOUNTS = 10;

/** Dev keys further coordinator processes anchor from on the local chain (account 0 deploys and anchors first). */
export function localAnchorerPool(): Hex[] {
  return Array.from({ length: ANVIL_FUNDED_ACCOUNTS - 1 }, (_, i) => anvilDevPrivateKey(i + 1));
}

/** Private key of dev account `index` (m/44'/60'/0'/0/index) of ANVIL_DEV_MNEMONIC. */
export function anvilDevPrivateKey(index: number): Hex {
  const key = mnemonicToAccount(ANVIL_DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error(`no private key for anvil dev account ${index}`);
  return toHex(key);
}

export interface StartAnvilOptions {
  port: number;
  host?: string;
  chainId?: number;
  /** Load chain state from this file if it exists and dump it there periodically and on stop. */
  stateFile?: string;
  /** Seconds between state dumps when stateFile is set (default 1): bounds what a hard crash loses. */
  stateIntervalSeconds?: number;
  /** anvil's stdout/stderr go here (appended); default: a temporary file removed on stop. */
  logFile?: string;
  startupTimeoutMs?: number;
  /** Seconds between blocks (anvil --block-time); default: a block per transaction (automine). */
  blockTimeSeconds?: number;
  /** Override the binary (else PARALLELIX_ANVIL_BIN, else the one in node_modules). */
  binaryPath?: string;
}

export interface AnvilHandle {
  rpcUrl: string;
  chainId: number;
  /** Process id of the guard shell; anvil runs in its process group. */
  pid: number;
  /** Stop anvil (state is dumped first when stateFile is set). Safe to call twice. */
  stop(): Promise<void>;
}

function platformPackage(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return `@foundry-rs/anvil-${process.platform}-${arch}`;
}

/** Locate the anvil executable shipped by the platform package of `@foundry-rs/anvil`. */
export function findAnvilBinary(): string {
  const fromEnv = process.env.PARALLELIX_ANVIL_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new ProvisioningError(`PARALLELIX_ANVIL_BIN points to a missing file: ${fromEnv}`);
    return fromEnv;
  }
  const pkg = platformPackage();
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  const candidates: string[] = [];
  try {
    candidates.push(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'bin', exe));
  } catch {
    // not resolvable from here; try next to the wrapper package
  }
  try {
    const wrapperDir = path.dirname(require.resolve('@foundry-rs/anvil/package.json'));
    candidates.push(path.join(wrapperDir, 'node_modules', pkg, 'bin', exe), path.join(wrapperDir, 'dist', exe));
  } catch {
    // wrapper not installed
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new ProvisioningError(`anvil binary not found (looked for ${pkg})`, {
      details: `Install dependencies so that ${pkg} is present, or set PARALLELIX_ANVIL_BIN. Tried: ${candidates.join(', ') || 'none'}`,
    });
  }
  return found;
}

async function rpcChainId(rpcUrl: string): Promise<number | undefined> {
  try {
    const result = await anvilRpc(rpcUrl, 'eth_chainId', [], 1000);
    return typeof result === 'string' ? Number.parseInt(result, 16) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether an RPC endpoint answers eth_chainId (within a second). */
export async function rpcAnswers(rpcUrl: string): Promise<boolean> {
  return (await rpcChainId(rpcUrl)) !== undefined;
}

/** One JSON-RPC call to anvil: its result, or a ProvisioningError naming the method it refused. */
export async function anvilRpc(rpcUrl: string, method: string, params: unknown[] = [], timeoutMs = 5_000): Promise<unknown> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new ProvisioningError(`anvil refused ${method}: ${body.error.message ?? 'unknown error'}`);
  return body.result;
}

/** The state file's text when it is a complete dump holding block `atLeast`; undefined while it is not yet. */
function completeDump(stateFile: string, atLeast: number): string | undefined {
  try {
    const text = readFileSync(stateFile, 'utf8');
    const dumped = (JSON.parse(text) as { best_block_number?: number | string }).best_block_number;
    return dumped !== undefined && Number(dumped) >= atLeast ? text : undefined;
  } catch {
    return undefined; // missing, or caught in the middle of a dump
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A deliberate hard crash (SIGKILL) of an anvil started with a stateFile that loses no mined block, as a real
 * chain loses no final block: stop mining (transactions sent from now on stay unmined, as in a crashed node's
 * mempool), wait until a complete dump on disk holds the last mined block, SIGKILL, and put that dump back.
 * A fixed wait is not enough: anvil's next dump starts a state interval after the previous one ends, and a dump of
 * a long chain on a loaded machine takes seconds; it also writes the file in place, so the kill can land in the
 * middle of one.
 */
export async function crashAnvilKeepingMinedBlocks(anvil: AnvilHandle, stateFile: string, timeoutMs = 120_000): Promise<void> {
  await anvilRpc(anvil.rpcUrl, 'evm_setAutomine', [false]);
  const blockNumber = async (): Promise<number> => Number.parseInt(String(await anvilRpc(anvil.rpcUrl, 'eth_blockNumber')), 16);
  const deadline = Date.now() + timeoutMs;
  // A block already being mined when automine stops still lands (and its receipt reaches the sender): wait for a
  // dump that holds the head, then ask for the head again, until the two agree.
  let lastMined = await blockNumber();
  let snapshot: string | undefined;
  for (;;) {
    snapshot = completeDump(stateFile, lastMined);
    while (snapshot === undefined) {
      if (Date.now() > deadline) throw new ProvisioningError(`anvil wrote no dump holding block ${lastMined} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      snapshot = completeDump(stateFile, lastMined);
    }
    const head = await blockNumber();
    if (head === lastMined) break;
    lastMined = head;
  }
  process.kill(-anvil.pid, 'SIGKILL');
  while (groupAlive(anvil.pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  writeFileSync(stateFile, snapshot);
}

function tail(file: string, bytes = 4000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

/** Start a local anvil and wait until it answers eth_chainId. */
export async function startAnvil(options: StartAnvilOptions): Promise<AnvilHandle> {
  const host = options.host ?? '127.0.0.1';
  const chainId = options.chainId ?? ANVIL_CHAIN_ID;
  const rpcUrl = `http://${host}:${options.port}`;
  const binary = options.binaryPath ?? findAnvilBinary();

  if (await rpcChainId(rpcUrl)) {
    throw new ProvisioningError(`port ${options.port} on ${host} already serves an RPC endpoint`, {
      details: 'Stop the other chain or pick another port.',
    });
  }

  const args = ['--host', host, '--port', String(options.port), '--chain-id', String(chainId), '--mnemonic', ANVIL_DEV_MNEMONIC];
  if (options.blockTimeSeconds !== undefined) args.push('--block-time', String(options.blockTimeSeconds));
  if (options.stateFile) {
    mkdirSync(path.dirname(options.stateFile), { recursive: true });
    args.push('--state', options.stateFile, '--state-interval', String(options.stateIntervalSeconds ?? 1));
  }

  const tempDir = options.logFile ? undefined : mkdtempSync(path.join(os.tmpdir(), 'parallelix-anvil-'));
  const logFile = options.logFile ?? path.join(tempDir!, 'anvil.log');
  let service: ServiceProcess;
  try {
    // On SIGTERM anvil dumps its state and exits; an idle anvil must not keep the Node process alive.
    service = spawnService({ name: 'anvil', command: binary, args, logFile, unref: true });
  } catch (error) {
    throw new ProvisioningError('could not spawn anvil', { details: `binary: ${binary}: ${String(error)}` });
  }
  let exitCode: number | NodeJS.Signals | undefined;
  void service.exited.then((code) => (exitCode = code));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await service.stop();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      log.info({ port: options.port }, 'anvil stopped');
    })();
    return stopped;
  };

  const deadline = Date.now() + (options.startupTimeoutMs ?? 30_000);
  for (;;) {
    const answered = await rpcChainId(rpcUrl);
    if (answered !== undefined) {
      if (answered !== chainId) {
        await stop();
        throw new ProvisioningError(`anvil answered chain id ${answered}, expected ${chainId}`);
      }
      break;
    }
    if (exitCode !== undefined || Date.now() > deadline) {
      const output = tail(logFile);
      await stop();
      throw new ProvisioningError(
        exitCode !== undefined ? `anvil exited during startup (code ${String(exitCode)})` : `anvil did not answer on ${rpcUrl} in time`,
        { details: output || `no output; log file ${logFile}` },
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log.info({ rpcUrl, chainId, stateFile: options.stateFile }, 'anvil ready');
  return { rpcUrl, chainId, pid: service.pid, stop };
}
