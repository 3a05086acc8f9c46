import { concatHex, keccak256, type Hex } from 'viem';
import { InvalidInputError } from '../shared/errors.js';

/**
 * The batch tree ExecutionRegistry.anchorRoot builds on chain, rebuilt off chain: leaves in batch order, inner
 * node = keccak256(0x01 ‖ left ‖ right), an odd node at the end of a level moves up unchanged. Leaves are
 * packedLeaf(record) (keccak256 of the packed record, 164 or 216 bytes: never 65, so no leaf reads as a node).
 */
export interface ProofStep {
  sibling: Hex;
  /** True when the sibling is the left operand (the path node is the right child). */
  left: boolean;
}

/** A record's place in its batch: the root, its leaf index, the batch size and the path from leaf to root. */
export interface InclusionProof {
  root: Hex;
  index: number;
  count: number;
  steps: ProofStep[];
}

const node = (left: Hex, right: Hex): Hex => keccak256(concatHex(['0x01', left, right]));

/** The root of `leaves` and each leaf's inclusion proof. */
export function merkleTree(leaves: readonly Hex[]): { root: Hex; proofs: InclusionProof[] } {
  if (leaves.length === 0) throw new InvalidInputError('a batch needs at least one record');
  const paths: ProofStep[][] = leaves.map(() => []);
  // Which original leaves sit under each node of the current level.
  let level = leaves.map((hash, i) => ({ hash, members: [i] }));
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      const a = level[i]!;
      const b = level[i + 1]!;
      for (const m of a.members) paths[m]!.push({ sibling: b.hash, left: false });
      for (const m of b.members) paths[m]!.push({ sibling: a.hash, left: true });
      next.push({ hash: node(a.hash, b.hash), members: [...a.members, ...b.members] });
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  const root = level[0]!.hash;
  return { root, proofs: paths.map((steps, index) => ({ root, index, count: leaves.length, steps })) };
}

/** The root a leaf and its path lead to. */
export function rootFromProof(leaf: Hex, steps: readonly ProofStep[]): Hex {
  return steps.reduce<Hex>((hash, step) => (step.left ? node(step.sibling, hash) : node(hash, step.sibling)), leaf);
}

/** True when `proof` leads from `leaf` to `proof.root`. */
export function verifyInclusion(leaf: Hex, proof: InclusionProof): boolean {
  return rootFromProof(leaf, proof.steps).toLowerCase() === proof.root.toLowerCase();
}
