/**
 * Float64 reductions with numpy's exact summation order, so that means and standard deviations match the
 * reference's `np.mean` / `np.std` bit for bit (numpy sums contiguous float64 arrays pairwise: blocks of up
 * to 128 values with 8 interleaved accumulators, split recursively above that; see numpy's
 * `pairwise_sum` in loops_utils.h).
 */
export function pairwiseSum(values: ArrayLike<number>, start = 0, count = values.length - start): number {
  if (count < 8) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += values[start + i]!;
    return sum;
  }
  if (count <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => values[start + j]!);
    let i = 8;
    for (; i < count - (count % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = r[j]! + values[start + i + j]!;
    let sum = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
    for (; i < count; i++) sum += values[start + i]!;
    return sum;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, count - half);
}

/** `np.mean` of a float64 array (NaN for an empty one, as numpy; callers guard against that). */
export function npMean(values: ArrayLike<number>): number {
  return pairwiseSum(values) / values.length;
}

/** `np.std` with ddof = 0 (population standard deviation), numpy's order of operations. */
export function npStd(values: ArrayLike<number>): number {
  const mean = npMean(values);
  const squares = Float64Array.from(values, (v) => (v - mean) * (v - mean));
  return Math.sqrt(pairwiseSum(squares) / values.length);
}

/** Index of the first maximum, like `np.argmax`. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
