/**
 * ExecutionRegistry ABI, hand-kept as a const so viem infers argument and return types.
 * test/chain/abi.test.ts fails if it drifts from what solc compiles from contracts/ExecutionRegistry.sol.
 */
export const executionRegistryAbi = [
  { inputs: [], stateMutability: 'nonpayable', type: 'constructor' },
  {
    inputs: [
      { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
    ],
    name: 'AlreadyAnchored',
    type: 'error',
  },
  {
    inputs: [
      { internalType: 'bytes32', name: 'root', type: 'bytes32' },
    ],
    name: 'BatchAlreadyAnchored',
    type: 'error',
  },
  { inputs: [], name: 'EmptyBatch', type: 'error' },
  {
    inputs: [
      { internalType: 'uint256', name: 'offset', type: 'uint256' },
    ],
    name: 'InvalidBatch',
    type: 'error',
  },
  {
    inputs: [
      { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
      { internalType: 'uint8', name: 'mode', type: 'uint8' },
    ],
    name: 'InvalidMode',
    type: 'error',
  },
  {
    inputs: [
      { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
      { internalType: 'string', name: 'reason', type: 'string' },
    ],
    name: 'InvalidRecord',
    type: 'error',
  },
  {
    inputs: [
      { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
      { internalType: 'uint8', name: 'verdict', type: 'uint8' },
    ],
    name: 'InvalidVerdict',
    type: 'error',
  },
  {
    inputs: [
      { internalType: 'address', name: 'caller', type: 'address' },
    ],
    name: 'NotAnchorer',
    type: 'error',
  },
  {
    inputs: [
      { internalType: 'address', name: 'caller', type: 'address' },
    ],
    name: 'NotOwner',
    type: 'error',
  },
  { inputs: [], name: 'ZeroAddress', type: 'error' },
  {
    anonymous: false,
    inputs: [
      { indexed: true, internalType: 'address', name: 'anchorer', type: 'address' },
    ],
    name: 'AnchorerAdded',
    type: 'event',
  },
  {
    anonymous: false,
    inputs: [
      { indexed: true, internalType: 'address', name: 'anchorer', type: 'address' },
    ],
    name: 'AnchorerRemoved',
    type: 'event',
  },
  {
    anonymous: false,
    inputs: [
      { indexed: true, internalType: 'bytes32', name: 'root', type: 'bytes32' },
      { indexed: true, internalType: 'address', name: 'anchorer', type: 'address' },
      { indexed: false, internalType: 'uint32', name: 'count', type: 'uint32' },
    ],
    name: 'BatchAnchored',
    type: 'event',
  },
  {
    anonymous: false,
    inputs: [
      { indexed: true, internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
      { indexed: true, internalType: 'bytes32', name: 'nodeId', type: 'bytes32' },
      { indexed: false, internalType: 'bytes32', name: 'poe', type: 'bytes32' },
      { indexed: false, internalType: 'uint8', name: 'verdict', type: 'uint8' },
      { indexed: false, internalType: 'bytes32', name: 'sampledNodeId', type: 'bytes32' },
      { indexed: false, internalType: 'uint8', name: 'mode', type: 'uint8' },
      { indexed: false, internalType: 'bytes32', name: 'nodeSignKey', type: 'bytes32' },
      { indexed: false, internalType: 'bytes', name: 'signature', type: 'bytes' },
    ],
    name: 'ExecutionAnchored',
    type: 'event',
  },
  {
    anonymous: false,
    inputs: [
      { indexed: true, internalType: 'address', name: 'previousOwner', type: 'address' },
      { indexed: true, internalType: 'address', name: 'newOwner', type: 'address' },
    ],
    name: 'OwnershipTransferred',
    type: 'event',
  },
  {
    inputs: [],
    name: 'DEVICE_WEBGPU',
    outputs: [
      { internalType: 'uint8', name: '', type: 'uint8' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'MODE_EXACT',
    outputs: [
      { internalType: 'uint8', name: '', type: 'uint8' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'MODE_NONE',
    outputs: [
      { internalType: 'uint8', name: '', type: 'uint8' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'MODE_TOLERANT',
    outputs: [
      { internalType: 'uint8', name: '', type: 'uint8' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'VERDICT_ACCEPTED',
    outputs: [
      { internalType: 'uint8', name: '', type: 'uint8' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'VERDICT_ACCEPTED_DISPUTE_UPHELD',
    outputs: [
      { internalType: 'uint8', name: '', type: 'uint8' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'VERDICT_ACCEPTED_SAMPLED_AGREE',
    outputs: [
      { internalType: 'uint8', name: '', type: 'uint8' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'VERDICT_MAJORITY_OVERRULED',
    outputs: [
      { internalType: 'uint8', name: '', type: 'uint8' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [
      { internalType: 'address', name: 'anchorer', type: 'address' },
    ],
    name: 'addAnchorer',
    outputs: [],
    stateMutability: 'nonpayable',
    type: 'function',
  },
  {
    inputs: [
      {
        components: [
          { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
          { internalType: 'bytes32', name: 'nodeId', type: 'bytes32' },
          { internalType: 'bytes32', name: 'poe', type: 'bytes32' },
          { internalType: 'uint8', name: 'verdict', type: 'uint8' },
          { internalType: 'bytes32', name: 'sampledNodeId', type: 'bytes32' },
          { internalType: 'uint8', name: 'mode', type: 'uint8' },
          { internalType: 'uint8', name: 'nodeDevice', type: 'uint8' },
          { internalType: 'uint8', name: 'sampledNodeDevice', type: 'uint8' },
          {
            components: [
              { internalType: 'uint16', name: 'positions', type: 'uint16' },
              { internalType: 'uint16', name: 'failing', type: 'uint16' },
              { internalType: 'uint16', name: 'longestFailRun', type: 'uint16' },
              { internalType: 'uint32', name: 'maxGap', type: 'uint32' },
            ],
            internalType: 'struct ExecutionRegistry.SampleScore',
            name: 'check',
            type: 'tuple',
          },
          {
            components: [
              { internalType: 'uint16', name: 'positions', type: 'uint16' },
              { internalType: 'uint16', name: 'failing', type: 'uint16' },
              { internalType: 'uint16', name: 'longestFailRun', type: 'uint16' },
              { internalType: 'uint32', name: 'maxGap', type: 'uint32' },
            ],
            internalType: 'struct ExecutionRegistry.SampleScore',
            name: 'dispute',
            type: 'tuple',
          },
          { internalType: 'bytes32', name: 'nodeSignKey', type: 'bytes32' },
          { internalType: 'bytes', name: 'signature', type: 'bytes' },
        ],
        internalType: 'struct ExecutionRegistry.RecordInput',
        name: 'r',
        type: 'tuple',
      },
    ],
    name: 'anchor',
    outputs: [],
    stateMutability: 'nonpayable',
    type: 'function',
  },
  {
    inputs: [
      {
        components: [
          { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
          { internalType: 'bytes32', name: 'nodeId', type: 'bytes32' },
          { internalType: 'bytes32', name: 'poe', type: 'bytes32' },
          { internalType: 'uint8', name: 'verdict', type: 'uint8' },
          { internalType: 'bytes32', name: 'sampledNodeId', type: 'bytes32' },
          { internalType: 'uint8', name: 'mode', type: 'uint8' },
          { internalType: 'uint8', name: 'nodeDevice', type: 'uint8' },
          { internalType: 'uint8', name: 'sampledNodeDevice', type: 'uint8' },
          {
            components: [
              { internalType: 'uint16', name: 'positions', type: 'uint16' },
              { internalType: 'uint16', name: 'failing', type: 'uint16' },
              { internalType: 'uint16', name: 'longestFailRun', type: 'uint16' },
              { internalType: 'uint32', name: 'maxGap', type: 'uint32' },
            ],
            internalType: 'struct ExecutionRegistry.SampleScore',
            name: 'check',
            type: 'tuple',
          },
          {
            components: [
              { internalType: 'uint16', name: 'positions', type: 'uint16' },
              { internalType: 'uint16', name: 'failing', type: 'uint16' },
              { internalType: 'uint16', name: 'longestFailRun', type: 'uint16' },
              { internalType: 'uint32', name: 'maxGap', type: 'uint32' },
            ],
            internalType: 'struct ExecutionRegistry.SampleScore',
            name: 'dispute',
            type: 'tuple',
          },
          { internalType: 'bytes32', name: 'nodeSignKey', type: 'bytes32' },
          { internalType: 'bytes', name: 'signature', type: 'bytes' },
        ],
        internalType: 'struct ExecutionRegistry.RecordInput[]',
        name: 'batch',
        type: 'tuple[]',
      },
    ],
    name: 'anchorBatch',
    outputs: [
      { internalType: 'uint256', name: 'anchored', type: 'uint256' },
    ],
    stateMutability: 'nonpayable',
    type: 'function',
  },
  {
    inputs: [
      { internalType: 'bytes', name: 'records', type: 'bytes' },
    ],
    name: 'anchorRoot',
    outputs: [
      { internalType: 'bytes32', name: 'root', type: 'bytes32' },
    ],
    stateMutability: 'nonpayable',
    type: 'function',
  },
  {
    inputs: [
      { internalType: 'bytes32', name: 'root', type: 'bytes32' },
    ],
    name: 'getBatch',
    outputs: [
      {
        components: [
          { internalType: 'uint32', name: 'blockNumber', type: 'uint32' },
          { internalType: 'uint32', name: 'timestamp', type: 'uint32' },
          { internalType: 'uint32', name: 'count', type: 'uint32' },
          { internalType: 'address', name: 'anchorer', type: 'address' },
        ],
        internalType: 'struct ExecutionRegistry.Batch',
        name: '',
        type: 'tuple',
      },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [
      { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
    ],
    name: 'getRecord',
    outputs: [
      {
        components: [
          { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
          { internalType: 'bytes32', name: 'nodeId', type: 'bytes32' },
          { internalType: 'bytes32', name: 'poe', type: 'bytes32' },
          { internalType: 'bytes32', name: 'sampledNodeId', type: 'bytes32' },
          { internalType: 'uint8', name: 'verdict', type: 'uint8' },
          { internalType: 'uint8', name: 'mode', type: 'uint8' },
          { internalType: 'uint8', name: 'nodeDevice', type: 'uint8' },
          { internalType: 'uint8', name: 'sampledNodeDevice', type: 'uint8' },
          {
            components: [
              { internalType: 'uint16', name: 'positions', type: 'uint16' },
              { internalType: 'uint16', name: 'failing', type: 'uint16' },
              { internalType: 'uint16', name: 'longestFailRun', type: 'uint16' },
              { internalType: 'uint32', name: 'maxGap', type: 'uint32' },
            ],
            internalType: 'struct ExecutionRegistry.SampleScore',
            name: 'check',
            type: 'tuple',
          },
          {
            components: [
              { internalType: 'uint16', name: 'positions', type: 'uint16' },
              { internalType: 'uint16', name: 'failing', type: 'uint16' },
              { internalType: 'uint16', name: 'longestFailRun', type: 'uint16' },
              { internalType: 'uint32', name: 'maxGap', type: 'uint32' },
            ],
            internalType: 'struct ExecutionRegistry.SampleScore',
            name: 'dispute',
            type: 'tuple',
          },
          { internalType: 'uint32', name: 'timestamp', type: 'uint32' },
          { internalType: 'uint32', name: 'blockNumber', type: 'uint32' },
          { internalType: 'address', name: 'anchorer', type: 'address' },
        ],
        internalType: 'struct ExecutionRegistry.ExecutionRecord',
        name: 'record',
        type: 'tuple',
      },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [
      { internalType: 'bytes32', name: 'requestId', type: 'bytes32' },
    ],
    name: 'isAnchored',
    outputs: [
      { internalType: 'bool', name: '', type: 'bool' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [
      { internalType: 'address', name: '', type: 'address' },
    ],
    name: 'isAnchorer',
    outputs: [
      { internalType: 'bool', name: '', type: 'bool' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'owner',
    outputs: [
      { internalType: 'address', name: '', type: 'address' },
    ],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [
      { internalType: 'address', name: 'anchorer', type: 'address' },
    ],
    name: 'removeAnchorer',
    outputs: [],
    stateMutability: 'nonpayable',
    type: 'function',
  },
  {
    inputs: [
      { internalType: 'address', name: 'newOwner', type: 'address' },
    ],
    name: 'transferOwnership',
    outputs: [],
    stateMutability: 'nonpayable',
    type: 'function',
  },
] as const;

export type ExecutionRegistryAbi = typeof executionRegistryAbi;

type AnchorFunction = Extract<ExecutionRegistryAbi[number], { type: 'function'; name: 'anchor' }>;

/** The `RecordInput` tuple parameter of `anchor`: the shape src/chain/record.ts encodes a record with. */
export const RECORD_INPUT_PARAMETER: AnchorFunction['inputs'][0] = (
  executionRegistryAbi.find((entry) => entry.type === 'function' && entry.name === 'anchor') as AnchorFunction
).inputs[0];
