/**
 * LAMP scores of one layer's weights (Lee et al., ICLR 2021): with the layer's weights sorted
 * ascending by |w| (ties in position order), score(u) = w_u^2 / sum over v at or after u in that
 * order of w_v^2. The score is monotone in |w| within the layer (so a per-layer LAMP ratio equals
 * per-layer magnitude pruning), and the layer's largest weight always scores 1, so one global
 * threshold below 1 never empties a layer. Sums in float64. A layer of zeros scores 0 (no
 * division by zero), except its last weight in the order, which scores 1 as the largest.
 */
export function lampScores(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => Math.abs(values[a]!) - Math.abs(values[b]!) || a - b);
  const scores = new Float64Array(n);
  let tail = 0;
  for (let k = n - 1; k >= 0; k--) {
    const u = order[k]!;
    const sq = values[u]! * values[u]!;
    tail += sq;
    scores[u] = tail > 0 ? sq / tail : k === n - 1 ? 1 : 0;
  }
  return scores;
}
