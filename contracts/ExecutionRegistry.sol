// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ExecutionRegistry
/// @notice Write-once ExecutionRecords for the ParalleliX pipeline (step 12, Anchor).
/// One record per request id; a second write for the same id reverts with AlreadyAnchored,
/// which is what makes anchoring idempotent across retries, crashes and concurrent writers.
///
/// Verdict values (uint8, 0 is never valid):
///   1 Accepted                 not sampled; accepted on signature + PoE. sampledNodeId must be zero.
///   2 AcceptedSampledAgree     sampled; node_j's result matched node_i's.
///   3 AcceptedDisputeUpheld    sampled; results disagreed, resolution upheld node_i (node_j penalised).
///   4 MajorityOverruled        sampled; results disagreed, resolution overruled node_i (node_i penalised).
/// Verdicts 2-4 require a non-zero sampledNodeId different from nodeId.
contract ExecutionRegistry {
    uint8 public constant VERDICT_ACCEPTED = 1;
    uint8 public constant VERDICT_ACCEPTED_SAMPLED_AGREE = 2;
    uint8 public constant VERDICT_ACCEPTED_DISPUTE_UPHELD = 3;
    uint8 public constant VERDICT_MAJORITY_OVERRULED = 4;

    struct ExecutionRecord {
        bytes32 requestId;
        bytes32 nodeId;
        bytes32 poe;
        bytes32 sampledNodeId;
        uint8 verdict;
        uint40 timestamp;
        uint40 blockNumber;
        address anchorer;
    }

    /// @dev Storage layout without requestId (it is the mapping key): 4 slots, the last one packs
    /// verdict + timestamp + blockNumber + anchorer (1 + 5 + 5 + 20 bytes).
    struct StoredRecord {
        bytes32 nodeId;
        bytes32 poe;
        bytes32 sampledNodeId;
        uint8 verdict;
        uint40 timestamp;
        uint40 blockNumber;
        address anchorer;
    }

    struct RecordInput {
        bytes32 requestId;
        bytes32 nodeId;
        bytes32 poe;
        uint8 verdict;
        bytes32 sampledNodeId;
    }

    address public owner;
    mapping(address => bool) public isAnchorer;
    mapping(bytes32 => StoredRecord) private records;

    error NotOwner(address caller);
    error NotAnchorer(address caller);
    error AlreadyAnchored(bytes32 requestId);
    error InvalidRecord(bytes32 requestId, string reason);
    error InvalidVerdict(bytes32 requestId, uint8 verdict);
    error ZeroAddress();

    event ExecutionAnchored(
        bytes32 indexed requestId,
        bytes32 indexed nodeId,
        bytes32 poe,
        uint8 verdict,
        bytes32 sampledNodeId
    );
    event AnchorerAdded(address indexed anchorer);
    event AnchorerRemoved(address indexed anchorer);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyAnchorer() {
        if (!isAnchorer[msg.sender]) revert NotAnchorer(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
        isAnchorer[msg.sender] = true;
        emit OwnershipTransferred(address(0), msg.sender);
        emit AnchorerAdded(msg.sender);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function addAnchorer(address anchorer) external onlyOwner {
        if (anchorer == address(0)) revert ZeroAddress();
        if (!isAnchorer[anchorer]) {
            isAnchorer[anchorer] = true;
            emit AnchorerAdded(anchorer);
        }
    }

    function removeAnchorer(address anchorer) external onlyOwner {
        if (isAnchorer[anchorer]) {
            isAnchorer[anchorer] = false;
            emit AnchorerRemoved(anchorer);
        }
    }

    /// @notice Anchor one record; reverts with AlreadyAnchored if the request id has a record.
    function anchor(
        bytes32 requestId,
        bytes32 nodeId,
        bytes32 poe,
        uint8 verdict,
        bytes32 sampledNodeId
    ) external onlyAnchorer {
        if (records[requestId].anchorer != address(0)) revert AlreadyAnchored(requestId);
        _store(requestId, nodeId, poe, verdict, sampledNodeId);
    }

    /// @notice Anchor many records in one transaction. Ids that already have a record are
    /// skipped (no revert, no event) so that a retried batch completes; invalid records revert
    /// the whole batch. Returns how many records were newly anchored.
    function anchorBatch(RecordInput[] calldata batch) external onlyAnchorer returns (uint256 anchored) {
        for (uint256 i = 0; i < batch.length; ++i) {
            RecordInput calldata r = batch[i];
            if (records[r.requestId].anchorer != address(0)) continue;
            _store(r.requestId, r.nodeId, r.poe, r.verdict, r.sampledNodeId);
            ++anchored;
        }
    }

    function isAnchored(bytes32 requestId) external view returns (bool) {
        return records[requestId].anchorer != address(0);
    }

    /// @notice The record for requestId; all fields zero when none was anchored.
    function getRecord(bytes32 requestId) external view returns (ExecutionRecord memory record) {
        StoredRecord storage s = records[requestId];
        if (s.anchorer == address(0)) return record;
        record = ExecutionRecord({
            requestId: requestId,
            nodeId: s.nodeId,
            poe: s.poe,
            sampledNodeId: s.sampledNodeId,
            verdict: s.verdict,
            timestamp: s.timestamp,
            blockNumber: s.blockNumber,
            anchorer: s.anchorer
        });
    }

    function _store(
        bytes32 requestId,
        bytes32 nodeId,
        bytes32 poe,
        uint8 verdict,
        bytes32 sampledNodeId
    ) private {
        if (requestId == bytes32(0)) revert InvalidRecord(requestId, "requestId is zero");
        if (nodeId == bytes32(0)) revert InvalidRecord(requestId, "nodeId is zero");
        if (poe == bytes32(0)) revert InvalidRecord(requestId, "poe is zero");
        if (verdict == VERDICT_ACCEPTED) {
            if (sampledNodeId != bytes32(0)) revert InvalidRecord(requestId, "sampledNodeId set on unsampled verdict");
        } else if (verdict >= VERDICT_ACCEPTED_SAMPLED_AGREE && verdict <= VERDICT_MAJORITY_OVERRULED) {
            if (sampledNodeId == bytes32(0)) revert InvalidRecord(requestId, "sampledNodeId missing on sampled verdict");
            if (sampledNodeId == nodeId) revert InvalidRecord(requestId, "sampledNodeId equals nodeId");
        } else {
            revert InvalidVerdict(requestId, verdict);
        }

        records[requestId] = StoredRecord({
            nodeId: nodeId,
            poe: poe,
            sampledNodeId: sampledNodeId,
            verdict: verdict,
            timestamp: uint40(block.timestamp),
            blockNumber: uint40(block.number),
            anchorer: msg.sender
        });
        emit ExecutionAnchored(requestId, nodeId, poe, verdict, sampledNodeId);
    }
}
