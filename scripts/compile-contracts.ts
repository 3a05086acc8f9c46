/**
 * Compile contracts/ExecutionRegistry.sol with solc-js and write contracts/out/ExecutionRegistry.json and its ABI as
 * a TypeScript module beside it (contracts/out/ExecutionRegistry.abi.ts).
 * Run: npx tsx scripts/compile-contracts.ts   (also run from postinstall)
 */
import path from 'node:path';
import { compileRegistry, REGISTRY_SOURCE_PATH } from '../src/chain/compile.js';
import { REGISTRY_ABI_MODULE_PATH, REGISTRY_ARTIFACT_PATH, writeArtifact } from '../src/chain/artifact.js';
import { projectRoot } from '../src/shared/paths.js';

function main(): void {
  const rel = (p: string): string => path.relative(projectRoot, p);
  const started = Date.now();
  console.log(`compile-contracts: compiling ${rel(REGISTRY_SOURCE_PATH)} with solc-js (in-process, offline)`);
  const artifact = compileRegistry();
  writeArtifact(artifact);
  const { settings, version } = artifact.compiler;
  console.log(
    `compile-contracts: solc ${version}, evm ${settings.evmVersion}, optimizer runs ${settings.optimizer.runs}; ` +
      `creation code ${(artifact.bytecode.length - 2) / 2} bytes, runtime ${(artifact.deployedBytecode.length - 2) / 2} bytes`,
  );
  console.log(`compile-contracts: wrote ${rel(REGISTRY_ARTIFACT_PATH)} and ${rel(REGISTRY_ABI_MODULE_PATH)} in ${Date.now() - started} ms`);
}

try {
  main();
} catch (err) {
  console.error('compile-contracts: failed:', err instanceof Error ? err.message : err);
  process.exit(1);
}
