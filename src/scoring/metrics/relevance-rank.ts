import { REGION_SUFFIXES, type Metric } from './metric.js';

/**
 * Relevance rank accuracy (Arras, Osman & Samek, CLEVR-XAI, Information Fusion 2022; Quantus'
 * RelevanceRankAccuracy): with K = the region's pixel count, the share of the K highest-relevance pixels
 * that lie inside the region, |top-K ∩ GT| / K. Ties at the K-th value are resolved by expectation rather
 * than by an arbitrary sort order (Quantus uses np.argsort): with τ the K-th largest value, pixels above τ
 * count fully and the K − #(v > τ) remaining places are shared among the pixels equal to τ in proportion to
 * how many of them lie in the region. Deterministic, and equal to Quantus whenever there is no tie at τ.
 * Columns `_b2` (0.9 band) and `_b12` (0.4 ∪ 0.9). Undefined (null) for an empty region.
 */
export const relevanceRankAccuracy: Metric = {
  name: 'relevance_rank_accuracy',
  columns: REGION_SUFFIXES.map((r) => `rank_accuracy_${r}`),
  compute({ adjusted, truth }) {
    const n = adjusted.length;
    let k2 = 0;
    let k12 = 0;
    for (let i = 0; i < n; i++) {
      if (truth[i]! >= 1) k12++;
      if (truth[i] === 2) k2++;
    }
    if (k12 === 0) return [null, null];
    // τ12 = the k12-th largest; the k2-th largest (k2 ≤ k12) then lies in the part at or above it.
    const scratch = Float64Array.from(adjusted);
    const tau12 = selectInPlace(scratch, 0, n - 1, n - k12);
    const tau2 = k2 === 0 ? 0 : selectInPlace(scratch, n - k12, n - 1, n - k2);
    let above2 = 0, tied2 = 0, above2In = 0, tied2In = 0;
    let above12 = 0, tied12 = 0, above12In = 0, tied12In = 0;
    for (let i = 0; i < n; i++) {
      const v = adjusted[i]!;
      const t = truth[i]!;
      if (v > tau12) {
        above12++;
        if (t >= 1) above12In++;
      } else if (v === tau12) {
        tied12++;
        if (t >= 1) tied12In++;
      }
      if (v > tau2) {
        above2++;
        if (t === 2) above2In++;
      } else if (v === tau2) {
        tied2++;
        if (t === 2) tied2In++;
      }
    }
    const accuracy = (k: number, above: number, aboveIn: number, tied: number, tiedIn: number) =>
      (aboveIn + ((k - above) * tiedIn) / tied) / k;
    return [k2 === 0 ? null : accuracy(k2, above2, above2In, tied2, tied2In), accuracy(k12, above12, above12In, tied12, tied12In)];
  },
};

/**
 * Places the value of ascending rank `rank` at that index within values[from..to] (which must hold exactly
 * the ranks from..to already), smaller ones before and larger ones after, and returns it: quickselect with a
 * Hoare partition and median-of-three pivot (linear on average, fine with many equal values).
 */
function selectInPlace(values: Float64Array, from: number, to: number, rank: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const a = values[lo]!;
    const b = values[mid]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    // Now values[lo..j] <= pivot <= values[i..hi], and everything between j and i equals the pivot.
    if (rank <= j) hi = j;
    else if (rank >= i) lo = i;
    else return values[rank]!;
  }
  return values[rank]!;
}
