import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Abi, Hex } from 'viem';
import { projectRoot } from '../shared/paths.js';
import { ContractCompileError } from './errors.js';

// solc-js is CommonJS; loading it through require keeps its (loose) typings out of our API.
const require = createRequire(import.meta.url);

interface SolcModule {
  version(): string;
  compile(input: string): string;
}

export const REGISTRY_CONTRACT_NAME = 'ExecutionRegistry';
export const REGISTRY_SOURCE_PATH = path.join(projectRoot, 'contracts', `${REGISTRY_CONTRACT_NAME}.sol`);

/**
 * Fixed compiler settings: same source + same solc-js version → byte-identical output.
 * `paris` (no PUSH0) runs on every EVM chain and on anvil; the metadata hash is left out so
 * comments or file paths never change the bytecode.
 */
export const COMPILER_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'paris',
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
} as const;

export interface CompiledContract {
  contractName: string;
  abi: Abi;
  /** Creation code, 0x-prefixed. */
  bytecode: Hex;
  /** Runtime code as it appears on chain (the contract has no immutables). */
  deployedBytecode: Hex;
  compiler: { version: string; settings: typeof COMPILER_SETTINGS };
  /** SHA-256 of the Solidity source, to notice a stale artifact. */
  sourceSha256: string;
}

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
}

let solc: SolcModule | undefined;
function loadSolc(): SolcModule {
  solc ??= require('solc') as SolcModule;
  return solc;
}

export function solcVersion(): string {
  return loadSolc().version();
}

/** The installed solc-js package version (e.g. "0.8.37"), read without loading the compiler. */
export function solcPackageVersion(): string {
  return (require('solc/package.json') as { version: string }).version;
}

export function sourceSha256(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex');
}

export function readRegistrySource(): string {
  return readFileSync(REGISTRY_SOURCE_PATH, 'utf8');
}

/** Compile a single-file contract in-process with solc-js (no downloads). */
export function compileContract(source: string, contractName: string): CompiledContract {
  const fileName = `${contractName}.sol`;
  const input = { language: 'Solidity', sources: { [fileName]: { content: source } }, settings: COMPILER_SETTINGS };
  const compiler = loadSolc();
  const output = JSON.parse(compiler.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new ContractCompileError(`solc failed to compile ${fileName}`, {
      details: errors.map((e) => e.formattedMessage).join('\n'),
    });
  }
  const compiled = output.contracts?.[fileName]?.[contractName];
  if (!compiled) throw new ContractCompileError(`solc produced no contract named ${contractName} in ${fileName}`);
  return {
    contractName,
    abi: compiled.abi,
    bytecode: `0x${compiled.evm.bytecode.object}`,
    deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
    compiler: { version: compiler.version(), settings: COMPILER_SETTINGS },
    sourceSha256: sourceSha256(source),
  };
}

/** Compile contracts/ExecutionRegistry.sol. */
export function compileRegistry(): CompiledContract {
  return compileContract(readRegistrySource(), REGISTRY_CONTRACT_NAME);
}
