import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Abi } from 'viem';
import { projectRoot } from '../shared/paths.js';
import {
  compileRegistry,
  COMPILER_SETTINGS,
  readRegistrySource,
  solcPackageVersion,
  sourceSha256,
  REGISTRY_CONTRACT_NAME,
  type CompiledContract,
} from './compile.js';

/** Generated (gitignored) artifact written by scripts/compile-contracts.ts at postinstall. */
export const REGISTRY_ARTIFACT_PATH = path.join(projectRoot, 'contracts', 'out', `${REGISTRY_CONTRACT_NAME}.json`);

/**
 * Generated (gitignored) beside the artifact: its ABI as an `as const` TypeScript module, so viem infers argument
 * and return types from it (src/chain/abi.ts re-exports it).
 */
export const REGISTRY_ABI_MODULE_PATH = path.join(projectRoot, 'contracts', 'out', `${REGISTRY_CONTRACT_NAME}.abi.ts`);

/** The source of the ABI module: `executionRegistryAbi` (the ABI, `as const`) and its type `ExecutionRegistryAbi`. */
export function renderAbiModule(abi: Abi): string {
  return [
    `// Generated from contracts/${REGISTRY_CONTRACT_NAME}.sol by src/chain/artifact.ts (npm install, npm test): do not edit.`,
    `export const executionRegistryAbi = ${JSON.stringify(abi, null, 2)} as const;`,
    '',
    'export type ExecutionRegistryAbi = typeof executionRegistryAbi;',
    '',
  ].join('\n');
}

/** Writes the artifact and, from its ABI, the ABI module beside it. */
export function writeArtifact(artifact: CompiledContract, file = REGISTRY_ARTIFACT_PATH, abiModule = REGISTRY_ABI_MODULE_PATH): void {
  writeAtomically(file, `${JSON.stringify(artifact, null, 2)}\n`);
  writeAtomically(abiModule, renderAbiModule(artifact.abi));
}

function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file); // atomic: a concurrent reader never sees half a file
}

function readArtifact(file: string): CompiledContract | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CompiledContract;
  } catch {
    return undefined;
  }
}

let cached: CompiledContract | undefined;

/**
 * The registry's ABI and bytecode. Uses the artifact when it matches the current source and
 * compiler; otherwise compiles in-process and refreshes the artifact (best effort).
 */
export function loadRegistryArtifact(): CompiledContract {
  if (cached) return cached;
  const source = readRegistrySource();
  const existing = readArtifact(REGISTRY_ARTIFACT_PATH);
  if (
    existing &&
    existing.sourceSha256 === sourceSha256(source) &&
    existing.compiler.version.startsWith(`${solcPackageVersion()}+`) &&
    JSON.stringify(existing.compiler.settings) === JSON.stringify(COMPILER_SETTINGS)
  ) {
    cached = existing;
    return existing;
  }
  const fresh = compileRegistry();
  try {
    writeArtifact(fresh);
  } catch {
    // read-only checkout: the in-memory result is enough
  }
  cached = fresh;
  return fresh;
}
