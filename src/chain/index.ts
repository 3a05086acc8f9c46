/**
 * The chain: ExecutionRegistry contract (contracts/ExecutionRegistry.sol), local anvil, deployment
 * and an idempotent registry client.
 *
 * @example
 * ```ts
 * const anvil = await startAnvil({ port: 8545, stateFile: path.join(stateDir(), 'anvil-state.json') });
 * const { address } = await ensureRegistry({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY });
 * const registry = createRegistryClient({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY, address });
 * const { txHash, alreadyAnchored } = await registry.anchorRecord({ requestId, nodeId, poe, verdict: 'Accepted' });
 * await anvil.stop();
 * ```
 */
export { executionRegistryAbi, type ExecutionRegistryAbi } from './abi.js';
export {
  ANVIL_CHAIN_ID,
  ANVIL_DEPLOYER_PRIVATE_KEY,
  ANVIL_DEV_ACCOUNTS,
  ANVIL_DEV_MNEMONIC,
  ANVIL_FUNDED_ACCOUNTS,
  anvilDevPrivateKey,
  localAnchorerPool,
  findAnvilBinary,
  startAnvil,
  type AnvilHandle,
  type StartAnvilOptions,
} from './anvil.js';
export { loadRegistryArtifact, REGISTRY_ARTIFACT_PATH } from './artifact.js';
export { compileContract, compileRegistry, COMPILER_SETTINGS, type CompiledContract } from './compile.js';
export { loadChainConfig, type ChainConfig } from './config.js';
export {
  chainStateFile,
  deployRegistry,
  ensureRegistry,
  type DeployedRegistry,
  type DeployRegistryParams,
  type EnsuredRegistry,
  type EnsureRegistryParams,
} from './deploy.js';
export * from './errors.js';
export {
  digestToBytes32,
  idToBytes32,
  toChainRecord,
  VERDICT_CODES,
  ZERO_BYTES32,
  type AnchoredRecord,
  type ChainRecordArgs,
  type ExecutionRecordInput,
  type VerdictCode,
} from './record.js';
export { createRegistryClient, type AnchorResult, type RegistryClient, type RegistryClientParams } from './registry.js';
