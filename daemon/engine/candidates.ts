/**
 * Choosing among several samples of one window (a package's `window_candidates`): the medoid, the candidate whose
 * generated frames lie nearest, in summed Euclidean distance, to the other candidates'. One sample's turn at a wall
 * lands anywhere in a spread of 0.2 H; the most central of three lands too far from the wall half as often (the
 * model card, 0.10.0). Known frames are the same in every candidate and are left out of the distance.
 */
export function medoidIndex(candidates: readonly Float32Array[], generatedSlots: readonly boolean[], frameSize: number): number {
  const m = candidates.length;
  if (m === 0) throw new Error('medoidIndex: no candidates');
  const distance = (a: Float32Array, b: Float32Array) => {
    let sum = 0;
    generatedSlots.forEach((generated, slot) => {
      if (!generated) return;
      for (let i = slot * frameSize, end = i + frameSize; i < end; i++) sum += (a[i]! - b[i]!) ** 2;
    });
    return Math.sqrt(sum);
  };
  const totals = new Array<number>(m).fill(0);
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      const d = distance(candidates[i]!, candidates[j]!);
      totals[i]! += d;
      totals[j]! += d;
    }
  }
  // The first of equal totals, as the Python twin's argmin (models/sampling.py medoid).
  return totals.reduce((best, total, i) => (total < totals[best]! ? i : best), 0);
}
