/**
 * How step 11 ended for a delivered result (anchored on chain as a code: VERDICT_CODES in src/chain/record.ts).
 * - Accepted: not sampled, accepted on signature + PoE (no sampled node).
 * - AcceptedSampledAgree: sampled, node_j agreed with node_i.
 * - AcceptedDisputeUpheld: sampled, disagreement resolved in node_i's favour (node_j penalised).
 * - MajorityOverruled: sampled, disagreement resolved against node_i (node_i penalised).
 */
export type VerdictName = 'Accepted' | 'AcceptedSampledAgree' | 'AcceptedDisputeUpheld' | 'MajorityOverruled';

/** How step 11 checked the result: none only for an unsampled (Accepted) result. */
export type RecordMode = 'none' | 'exact' | 'tolerant';

/** A checking node's score summary as anchored: positions, failing positions, longest failing run, largest gap (σ). */
export interface RecordScore {
  positions: number;
  failing: number;
  longestFailRun: number;
  maxGap: number;
}
