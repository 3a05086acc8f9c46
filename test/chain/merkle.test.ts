import { keccak256, toHex, type Hex } from 'viem';
import { merkleTree, rootFromProof, verifyInclusion } from '../../src/chain/merkle.js';

const leaf = (i: number): Hex => keccak256(toHex(`leaf-${i}`));

describe('batch Merkle tree', () => {
  test.each([1, 2, 3, 4, 5, 7, 8, 9, 16, 33])('%i leaves: every proof leads to the root, and to no other leaf', (n) => {
    const leaves = Array.from({ length: n }, (_, i) => leaf(i));
    const { root, proofs } = merkleTree(leaves);
    expect(proofs).toHaveLength(n);
    proofs.forEach((proof, i) => {
      expect(proof).toMatchObject({ root, index: i, count: n });
      expect(proof.steps.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
      expect(verifyInclusion(leaves[i]!, proof)).toBe(true);
      expect(verifyInclusion(leaf(1000 + i), proof)).toBe(false);
    });
  });

  test('one leaf is its own root; the order of leaves matters', () => {
    expect(merkleTree([leaf(0)]).root).toBe(leaf(0));
    expect(merkleTree([leaf(0), leaf(1)]).root).not.toBe(merkleTree([leaf(1), leaf(0)]).root);
  });

  test('a tampered step or a flipped side breaks the proof', () => {
    const leaves = Array.from({ length: 6 }, (_, i) => leaf(i));
    const { proofs } = merkleTree(leaves);
    const proof = proofs[3]!;
    const flipped = proof.steps.map((s, i) => (i === 0 ? { ...s, left: !s.left } : s));
    expect(rootFromProof(leaves[3]!, flipped)).not.toBe(proof.root);
    const swapped = proof.steps.map((s, i) => (i === 1 ? { ...s, sibling: leaf(99) } : s));
    expect(verifyInclusion(leaves[3]!, { ...proof, steps: swapped })).toBe(false);
  });

  test('an empty batch is refused', () => {
    expect(() => merkleTree([])).toThrow('at least one record');
  });
});
