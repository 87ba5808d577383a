/**
 * The k-th smallest value (k = 0 is the minimum) of `values`, in expected linear time: a
 * quickselect with a median-of-three pivot and a three-way partition, so long runs of equal
 * values (zeros, masked units) cost no more than distinct ones. Sorting 20 million weights to
 * read one threshold took seconds; this takes a fraction of that. `values` is reordered.
 */
export function kthSmallestInPlace(values: Float64Array, k: number): number {
  if (!(Number.isInteger(k) && k >= 0 && k < values.length)) throw new RangeError(`k must be an integer in [0, ${values.length}), got ${k}`);
  let lo = 0;
  let hi = values.length - 1;
  for (;;) {
    if (lo === hi) return values[lo]!;
    const a = values[lo]!;
    const b = values[(lo + hi) >>> 1]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    // values[lo..lt) < pivot, values[lt..i) == pivot, values(gt..hi] > pivot.
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = values[i]!;
      if (v < pivot) {
        values[i] = values[lt]!;
        values[lt] = v;
        lt++;
        i++;
      } else if (v > pivot) {
        values[i] = values[gt]!;
        values[gt] = v;
        gt--;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
}
