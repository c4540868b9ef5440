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
  compute({ adjusted, truth, confusion }) {
    const n = adjusted.length;
    // The regions' sizes are the ground-truth rows of any threshold set's band confusion counts (no pass needed).
    const counts = confusion(0);
    let k2 = 0;
    let k12 = 0;
    for (let s = 0; s < 5; s++) {
      k2 += counts[4 * 5 + s]!;
      k12 += counts[4 * 5 + s]! + counts[3 * 5 + s]!;
    }
    if (k12 === 0) return [null, null];
    const [tau12, tau2] = valuesAtRanks(adjusted, n - k12, k2 === 0 ? n - k12 : n - k2);
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

const BUCKETS = 1 << 16;
const histogram = new Int32Array(BUCKETS);
let gathered = new Float64Array(0);

/**
 * The values of ascending ranks r1 ≤ r2 (0-based) among `values`, without sorting: a histogram of 2^16 equal
 * buckets between the minimum and maximum finds the buckets holding the two ranks, and a selection among the
 * few values of each bucket finds the value. Buckets are monotone in the value, so this is exact.
 */
function valuesAtRanks(values: Float64Array, r1: number, r2: number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  if (!(max > min)) return [min, min];
  const scale = BUCKETS / (max - min);
  // (v − min) · scale ≥ 0, so truncation is the floor; the maximum lands on BUCKETS and joins the last bucket.
  const last = BUCKETS - 1;
  histogram.fill(0);
  for (let i = 0; i < values.length; i++) histogram[Math.min(last, ((values[i]! - min) * scale) | 0)]!++;
  const find = (rank: number): { bucket: number; below: number } => {
    let below = 0;
    let b = 0;
    while (below + histogram[b]! <= rank) below += histogram[b++]!;
    return { bucket: b, below };
  };
  const first = find(r1);
  const second = find(r2);
  // One pass gathers both buckets' values: the first bucket's from the start of `gathered`, the second's after.
  const n1 = histogram[first.bucket]!;
  const n2 = second.bucket === first.bucket ? 0 : histogram[second.bucket]!;
  if (gathered.length < n1 + n2) gathered = new Float64Array(n1 + n2);
  let k1 = 0;
  let k2 = n1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const b = Math.min(last, ((v - min) * scale) | 0);
    if (b === first.bucket) gathered[k1++] = v;
    else if (b === second.bucket) gathered[k2++] = v;
  }
  const v1 = selectInPlace(gathered, 0, n1 - 1, r1 - first.below);
  // Within a shared bucket, selecting the larger rank keeps the first selection's partition valid.
  const v2 = n2 === 0 ? selectInPlace(gathered, 0, n1 - 1, r2 - first.below) : selectInPlace(gathered, n1, n1 + n2 - 1, n1 + r2 - second.below);
  return [v1, v2];
}

/**
 * Places the value of ascending rank `rank` at that index within values[from..to], smaller ones before and larger
 * ones after, and returns it: quickselect with a Hoare partition and median-of-three pivot (linear on average,
 * fine with many equal values).
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
