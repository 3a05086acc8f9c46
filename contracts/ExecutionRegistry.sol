// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ExecutionRegistry
/// @notice Write-once ExecutionRecords for the ParalleliX pipeline (step 12, Anchor).
/// One record per request id; a second write for the same id reverts with AlreadyAnchored,
/// which is what makes anchoring idempotent across retries, crashes and concurrent writers.
///
/// Verdict values (uint8, 0 is never valid):
///   1 Accepted                 not sampled; accepted on signature + PoE. sampledNodeId must be zero.
///   2 AcceptedSampledAgree     sampled; node_j's check agreed with node_i's result.
///   3 AcceptedDisputeUpheld    sampled; the check failed, a third node upheld node_i (node_j penalised).
///   4 MajorityOverruled        sampled; the check failed, a third node overruled node_i (node_i penalised).
/// Verdicts 2-4 require a non-zero sampledNodeId different from nodeId.
///
/// Sample mode (uint8): 0 none (only with Accepted), 1 exact (re-generation compared byte for byte),
/// 2 tolerant (node_j scored node_i's claimed tokens in one teacher-forced pass). Scores are the checking
/// nodes' summaries: positions scored, failing positions, longest failing run, largest gap (1e-4 logit
/// standard deviations, saturating); zero where no such check ran. Devices: 0 unknown, 1 cpu, 2 webgpu.
///
/// The node's Ed25519 public key and its signature over the PoE (docs/poe.md) travel in the
/// ExecutionAnchored event: with the record they prove, from the chain alone, which key signed the result
/// (nodeId = SHA-256("node-" + hex(SHA-256(key)[0:20]))).
///
/// Batches (anchorRoot): many records in one transaction for a few thousand gas each. The records travel packed
/// in calldata (src/chain/packed-record.ts: 164 bytes, 216 when sampled; the node id is derived from the key they
/// carry), so anyone can rebuild the tree from the transaction; they are checked like single records, and only the
/// Merkle root of their leaves is stored, with one BatchAnchored event per batch. Leaf = keccak256(packed record);
/// inner node = keccak256(0x01 ‖ left ‖ right) (65 bytes: never a record's length); an odd node at the end of a
/// level moves up unchanged. A record's inclusion proof (sibling hashes with their sides) leads from leaf to root.
contract ExecutionRegistry {
    uint8 public constant VERDICT_ACCEPTED = 1;
    uint8 public constant VERDICT_ACCEPTED_SAMPLED_AGREE = 2;
    uint8 public constant VERDICT_ACCEPTED_DISPUTE_UPHELD = 3;
    uint8 public constant VERDICT_MAJORITY_OVERRULED = 4;

    uint8 public constant MODE_NONE = 0;
    uint8 public constant MODE_EXACT = 1;
    uint8 public constant MODE_TOLERANT = 2;
    uint8 public constant DEVICE_WEBGPU = 2;

    /// @dev Packed record lengths in a batch (src/chain/packed-record.ts): unsampled, sampled.
    uint256 private constant PACKED_BASE_LENGTH = 164;
    uint256 private constant PACKED_SAMPLED_LENGTH = 216;

    struct SampleScore {
        uint16 positions;
        uint16 failing;
        uint16 longestFailRun;
        uint32 maxGap;
    }

    struct ExecutionRecord {
        bytes32 requestId;
        bytes32 nodeId;
        bytes32 poe;
        bytes32 sampledNodeId;
        uint8 verdict;
        uint8 mode;
        uint8 nodeDevice;
        uint8 sampledNodeDevice;
        SampleScore check;
        SampleScore dispute;
        uint32 timestamp;
        uint32 blockNumber;
        address anchorer;
    }

    /// @dev Storage layout without requestId (it is the mapping key): 5 slots. Slot 4 packs verdict, mode,
    /// devices, timestamp, blockNumber and anchorer (4 x 1 + 4 + 4 + 20 bytes); slot 5 the two scores
    /// (flattened: a struct member would start a slot of its own).
    struct StoredRecord {
        bytes32 nodeId;
        bytes32 poe;
        bytes32 sampledNodeId;
        uint8 verdict;
        uint8 mode;
        uint8 nodeDevice;
        uint8 sampledNodeDevice;
        uint32 timestamp;
        uint32 blockNumber;
        address anchorer;
        uint16 checkPositions;
        uint16 checkFailing;
        uint16 checkLongestFailRun;
        uint32 checkMaxGap;
        uint16 disputePositions;
        uint16 disputeFailing;
        uint16 disputeLongestFailRun;
        uint32 disputeMaxGap;
    }

    struct RecordInput {
        bytes32 requestId;
        bytes32 nodeId;
        bytes32 poe;
        uint8 verdict;
        bytes32 sampledNodeId;
        uint8 mode;
        uint8 nodeDevice;
        uint8 sampledNodeDevice;
        SampleScore check;
        SampleScore dispute;
        bytes32 nodeSignKey;
        bytes signature;
    }

    /// @dev One slot per batch root.
    struct Batch {
        uint32 blockNumber;
        uint32 timestamp;
        uint32 count;
        address anchorer;
    }

    address public owner;
    mapping(address => bool) public isAnchorer;
    mapping(bytes32 => StoredRecord) private records;
    mapping(bytes32 => Batch) private batches;

    error NotOwner(address caller);
    error NotAnchorer(address caller);
    error AlreadyAnchored(bytes32 requestId);
    error InvalidRecord(bytes32 requestId, string reason);
    error InvalidVerdict(bytes32 requestId, uint8 verdict);
    error InvalidMode(bytes32 requestId, uint8 mode);
    error ZeroAddress();
    error EmptyBatch();
    error BatchAlreadyAnchored(bytes32 root);
    error InvalidBatch(uint256 offset);

    event ExecutionAnchored(
        bytes32 indexed requestId,
        bytes32 indexed nodeId,
        bytes32 poe,
        uint8 verdict,
        bytes32 sampledNodeId,
        uint8 mode,
        bytes32 nodeSignKey,
        bytes signature
    );
    event BatchAnchored(bytes32 indexed root, address indexed anchorer, uint32 count);
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
    function anchor(RecordInput calldata r) external onlyAnchorer {
        if (records[r.requestId].anchorer != address(0)) revert AlreadyAnchored(r.requestId);
        _store(r);
    }

    /// @notice Anchor many records in one transaction. Ids that already have a record are
    /// skipped (no revert, no event) so that a retried batch completes; invalid records revert
    /// the whole batch. Returns how many records were newly anchored.
    function anchorBatch(RecordInput[] calldata batch) external onlyAnchorer returns (uint256 anchored) {
        for (uint256 i = 0; i < batch.length; ++i) {
            RecordInput calldata r = batch[i];
            if (records[r.requestId].anchorer != address(0)) continue;
            _store(r);
            ++anchored;
        }
    }

    /// @notice Anchor a batch of packed records under their Merkle root (see the contract notes). Reverts with
    /// BatchAlreadyAnchored when the same batch (same records, same order) was anchored before, so a retried
    /// transaction never anchors twice; an invalid record reverts the whole batch.
    function anchorRoot(bytes calldata records) external onlyAnchorer returns (bytes32 root) {
        uint256 total = records.length;
        if (total == 0) revert EmptyBatch();
        bytes32[] memory level = new bytes32[](total / PACKED_BASE_LENGTH);
        uint256 n = 0;
        for (uint256 at = 0; at < total; ) {
            uint256 length = uint8(records[at]) == VERDICT_ACCEPTED ? PACKED_BASE_LENGTH : PACKED_SAMPLED_LENGTH;
            if (total - at < length) revert InvalidBatch(at);
            bytes calldata r = records[at:at + length];
            _validatePacked(r);
            level[n++] = keccak256(r);
            at += length;
        }
        uint256 count = n;
        while (n > 1) {
            uint256 pairs = n / 2;
            for (uint256 i = 0; i < pairs; ++i) {
                level[i] = keccak256(abi.encodePacked(bytes1(0x01), level[2 * i], level[2 * i + 1]));
            }
            if (n % 2 == 1) level[pairs] = level[n - 1];
            n = n - pairs;
        }
        root = level[0];
        if (batches[root].anchorer != address(0)) revert BatchAlreadyAnchored(root);
        batches[root] = Batch(uint32(block.number), uint32(block.timestamp), uint32(count), msg.sender);
        emit BatchAnchored(root, msg.sender, uint32(count));
    }

    /// @notice The batch anchored under `root`; all fields zero when none was.
    function getBatch(bytes32 root) external view returns (Batch memory) {
        return batches[root];
    }

    function isAnchored(bytes32 requestId) external view returns (bool) {
        return records[requestId].anchorer != address(0);
    }

    /// @notice The record for requestId; all fields zero when none was anchored.
    function getRecord(bytes32 requestId) external view returns (ExecutionRecord memory record) {
        StoredRecord storage s = records[requestId];
        if (s.anchorer == address(0)) return record;
        record.requestId = requestId;
        record.nodeId = s.nodeId;
        record.poe = s.poe;
        record.sampledNodeId = s.sampledNodeId;
        record.verdict = s.verdict;
        record.mode = s.mode;
        record.nodeDevice = s.nodeDevice;
        record.sampledNodeDevice = s.sampledNodeDevice;
        record.check = SampleScore(s.checkPositions, s.checkFailing, s.checkLongestFailRun, s.checkMaxGap);
        record.dispute = SampleScore(s.disputePositions, s.disputeFailing, s.disputeLongestFailRun, s.disputeMaxGap);
        record.timestamp = s.timestamp;
        record.blockNumber = s.blockNumber;
        record.anchorer = s.anchorer;
    }

    function _store(RecordInput calldata r) private {
        _validate(r);
        _write(records[r.requestId], r);
    }

    /// @dev The checks of _validate on a packed record (the node id is derived from the key, so it cannot be wrong).
    function _validatePacked(bytes calldata r) private pure {
        bytes32 requestId = bytes32(r[4:36]);
        uint8 verdict = uint8(r[0]);
        uint8 mode = uint8(r[1]);
        if (requestId == bytes32(0)) revert InvalidRecord(requestId, "requestId is zero");
        if (bytes32(r[36:68]) == bytes32(0)) revert InvalidRecord(requestId, "poe is zero");
        if (bytes32(r[68:100]) == bytes32(0)) revert InvalidRecord(requestId, "nodeSignKey is zero");
        if (uint8(r[2]) > DEVICE_WEBGPU || uint8(r[3]) > DEVICE_WEBGPU) revert InvalidRecord(requestId, "unknown device");
        if (verdict == VERDICT_ACCEPTED) {
            if (mode != MODE_NONE) revert InvalidMode(requestId, mode);
        } else if (verdict >= VERDICT_ACCEPTED_SAMPLED_AGREE && verdict <= VERDICT_MAJORITY_OVERRULED) {
            if (bytes32(r[164:196]) == bytes32(0)) revert InvalidRecord(requestId, "sampledNodeId missing on sampled verdict");
            if (mode != MODE_EXACT && mode != MODE_TOLERANT) revert InvalidMode(requestId, mode);
        } else {
            revert InvalidVerdict(requestId, verdict);
        }
    }

    function _validate(RecordInput calldata r) private pure {
        bytes32 requestId = r.requestId;
        if (requestId == bytes32(0)) revert InvalidRecord(requestId, "requestId is zero");
        if (r.nodeId == bytes32(0)) revert InvalidRecord(requestId, "nodeId is zero");
        if (r.poe == bytes32(0)) revert InvalidRecord(requestId, "poe is zero");
        if (r.nodeSignKey == bytes32(0)) revert InvalidRecord(requestId, "nodeSignKey is zero");
        if (r.signature.length != 64) revert InvalidRecord(requestId, "signature must be 64 bytes");
        if (r.nodeDevice > DEVICE_WEBGPU || r.sampledNodeDevice > DEVICE_WEBGPU) revert InvalidRecord(requestId, "unknown device");
        if (r.verdict == VERDICT_ACCEPTED) {
            if (r.sampledNodeId != bytes32(0)) revert InvalidRecord(requestId, "sampledNodeId set on unsampled verdict");
            if (r.mode != MODE_NONE) revert InvalidMode(requestId, r.mode);
        } else if (r.verdict >= VERDICT_ACCEPTED_SAMPLED_AGREE && r.verdict <= VERDICT_MAJORITY_OVERRULED) {
            if (r.sampledNodeId == bytes32(0)) revert InvalidRecord(requestId, "sampledNodeId missing on sampled verdict");
            if (r.sampledNodeId == r.nodeId) revert InvalidRecord(requestId, "sampledNodeId equals nodeId");
            if (r.mode != MODE_EXACT && r.mode != MODE_TOLERANT) revert InvalidMode(requestId, r.mode);
        } else {
            revert InvalidVerdict(requestId, r.verdict);
        }
    }

    function _write(StoredRecord storage s, RecordInput calldata r) private {
        s.nodeId = r.nodeId;
        s.poe = r.poe;
        s.sampledNodeId = r.sampledNodeId;
        s.verdict = r.verdict;
        s.mode = r.mode;
        s.nodeDevice = r.nodeDevice;
        s.sampledNodeDevice = r.sampledNodeDevice;
        s.timestamp = uint32(block.timestamp);
        s.blockNumber = uint32(block.number);
        s.anchorer = msg.sender;
        s.checkPositions = r.check.positions;
        s.checkFailing = r.check.failing;
        s.checkLongestFailRun = r.check.longestFailRun;
        s.checkMaxGap = r.check.maxGap;
        s.disputePositions = r.dispute.positions;
        s.disputeFailing = r.dispute.failing;
        s.disputeLongestFailRun = r.dispute.longestFailRun;
        s.disputeMaxGap = r.dispute.maxGap;
        emit ExecutionAnchored(r.requestId, r.nodeId, r.poe, r.verdict, r.sampledNodeId, r.mode, r.nodeSignKey, r.signature);
    }
}
