import { executionRegistryAbi, type ExecutionRegistryAbi } from '../../contracts/out/ExecutionRegistry.abi.js';

/** The registry's ABI, generated at install from contracts/ExecutionRegistry.sol (src/chain/artifact.ts). */
export { executionRegistryAbi, type ExecutionRegistryAbi };

type AnchorFunction = Extract<ExecutionRegistryAbi[number], { type: 'function'; name: 'anchor' }>;

/** The `RecordInput` tuple parameter of `anchor`: the shape src/chain/record.ts encodes a record with. */
export const RECORD_INPUT_PARAMETER: AnchorFunction['inputs'][0] = (
  executionRegistryAbi.find((entry) => entry.type === 'function' && entry.name === 'anchor') as AnchorFunction
).inputs[0];
