import { Rng } from '../rng/index.js';

/**
 * Statistics that keep a ranking honest: bootstrap intervals for means, paired Wilcoxon signed-rank tests with
 * Holm's correction, and Kendall's W for the agreement of rankings. Definitions follow scipy.stats (wilcoxon with
 * its defaults: zeros dropped, no continuity correction, exact below 51 pairs without ties) and numpy's linear
 * percentile, so anyone can recompute them.
 */

/** numpy.percentile(sorted, q) with the default linear interpolation; `sorted` ascending. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (q / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

/**
 * Percentile bootstrap interval of the mean: `resamples` means of n values drawn with replacement from the
 * seeded `rng`, cut at (1 − level)/2 and (1 + level)/2. Null for fewer than two values.
 */
export function bootstrapMeanInterval(values: ArrayLike<number>, rng: Rng, resamples = 2000, level = 0.95): [number, number] | null {
  const n = values.length;
  if (n < 2) return null;
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(rng.next() * n)]!;
    means[b] = sum / n;
  }
  means.sort();
  return [percentileOfSorted(means, (100 * (1 - level)) / 2), percentileOfSorted(means, (100 * (1 + level)) / 2)];
}

/** Ranks 1…n of `values` (ties get their average rank), as scipy.stats.rankdata. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1]!] === values[order[start]!]) end++;
    for (let k = start; k <= end; k++) ranks[order[k]!] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return ranks;
}

/** Σ (t³ − t) over the groups of t equal ranks: the tie correction of rank statistics. */
function tieSum(ranks: Float64Array): number {
  const sorted = Array.from(ranks).sort((a, b) => a - b);
  let sum = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[i]) j++;
    const t = j - i + 1;
    sum += t * t * t - t;
    i = j + 1;
  }
  return sum;
}

export interface WilcoxonResult {
  /** Pairs with a non-zero difference (zeros are dropped, scipy's zero_method "wilcox"). */
  n: number;
  /** min(W+, W−), scipy's two-sided statistic. */
  statistic: number;
  /** Two-sided p-value; 1 when no pair differs. */
  p: number;
  method: 'exact' | 'normal';
}

/** The standard normal CDF, from erfc (so the far tails keep their relative precision). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** erfc with relative error < 1e-14 (W. J. Cody's rational approximations, as in most libms). */
function erfc(x: number): number {
  const ax = Math.abs(x);
  let result: number;
  if (ax < 0.5) {
    const t = x * x;
    const top = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947;
    const bottom = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062;
    return 1 - (x * top) / bottom;
  } else if (ax < 4) {
    const top = (((((((2.15311535474403846e-8 * ax + 0.564188496988670089) * ax + 8.88314979438837594) * ax + 66.1191906371416295) * ax + 298.635138197400131) * ax + 881.952221241769090) * ax + 1712.04761263407058) * ax + 2051.07837782607147) * ax + 1230.33935479799725;
    const bottom = (((((((ax + 15.7449261107098347) * ax + 117.693950891312499) * ax + 537.181101862009858) * ax + 1621.38957456669019) * ax + 3290.79923573345963) * ax + 4362.61909014324716) * ax + 3439.36767414372164) * ax + 1230.33935480374942;
    result = Math.exp(-ax * ax) * (top / bottom);
  } else {
    const z = 1 / (ax * ax);
    const top = ((((0.0163153871373020978 * z + 0.305326634961232344) * z + 0.360344899949804439) * z + 0.125781726111229246) * z + 0.0160837851487422766) * z + 6.58749161529837803e-4;
    const bottom = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 0.527905102951428412) * z + 0.0605183413124413191) * z + 0.00233520497626869185;
    result = (Math.exp(-ax * ax) / ax) * (1 / Math.sqrt(Math.PI) - (z * top) / bottom);
  }
  return x < 0 ? 2 - result : result;
}

/**
 * Two-sided Wilcoxon signed-rank test of paired samples x, y (scipy.stats.wilcoxon(x, y) with its defaults):
 * zero differences dropped; exact null distribution for n ≤ 50 without tied |differences|, otherwise the normal
 * approximation with the tie correction and no continuity correction.
 */
export function wilcoxonSignedRank(x: ArrayLike<number>, y: ArrayLike<number>): WilcoxonResult {
  if (x.length !== y.length) throw new Error(`paired samples of ${x.length} and ${y.length} values`);
  const d: number[] = [];
  for (let i = 0; i < x.length; i++) if (x[i]! - y[i]! !== 0) d.push(x[i]! - y[i]!);
  const n = d.length;
  if (n === 0) return { n: 0, statistic: 0, p: 1, method: 'exact' };
  const ranks = averageRanks(d.map(Math.abs));
  let plus = 0;
  let minus = 0;
  d.forEach((v, i) => (v > 0 ? (plus += ranks[i]!) : (minus += ranks[i]!)));
  const statistic = Math.min(plus, minus);
  const ties = new Set(ranks).size < n;
  if (n <= 50 && !ties) {
    // counts[s] = number of sign patterns whose positive ranks sum to s.
    const max = (n * (n + 1)) / 2;
    let counts = new Float64Array(max + 1);
    counts[0] = 1;
    for (let r = 1; r <= n; r++) {
      const next = Float64Array.from(counts);
      for (let s = r; s <= max; s++) next[s] = next[s]! + counts[s - r]!;
      counts = next;
    }
    let tail = 0;
    for (let s = 0; s <= statistic; s++) tail += counts[s]!;
    return { n, statistic, p: Math.min(1, (2 * tail) / 2 ** n), method: 'exact' };
  }
  const mean = (n * (n + 1)) / 4;
  const sd = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieSum(ranks) / 48);
  const z = (statistic - mean) / sd;
  return { n, statistic, p: Math.min(1, 2 * normalCdf(z)), method: 'normal' };
}

/** Holm's step-down adjustment of p-values (returned in the input's order). */
export function holmAdjust(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((index, k) => {
    running = Math.max(running, Math.min(1, (m - k) * p[index]!));
    adjusted[index] = running;
  });
  return adjusted;
}

/**
 * Kendall's coefficient of concordance W of m raters ranking the same n items (rows: raters, columns: the
 * items' scores; higher = better, ties averaged), with the tie correction: 1 = the same ranking everywhere,
 * 0 = no agreement. Null for fewer than two raters or items, or when every rater ties everything.
 */
export function kendallW(scores: ReadonlyArray<ArrayLike<number>>): number | null {
  const m = scores.length;
  const n = scores[0]?.length ?? 0;
  if (m < 2 || n < 2) return null;
  const sums = new Float64Array(n);
  let tieTerm = 0;
  for (const row of scores) {
    if (row.length !== n) throw new Error('every rater must score every item');
    const ranks = averageRanks(row);
    ranks.forEach((r, j) => (sums[j] = sums[j]! + r));
    tieTerm += tieSum(ranks);
  }
  const meanSum = (m * (n + 1)) / 2;
  let s = 0;
  for (const v of sums) s += (v - meanSum) ** 2;
  const denominator = m * m * (n * n * n - n) - m * tieTerm;
  return denominator > 0 ? (12 * s) / denominator : null;
}

/** One method's per-sample values by column (null: not defined for that sample, e.g. a metric). */
export interface MethodValues {
  method: string;
  values: Record<string, ReadonlyArray<number | null>>;
}

export interface StatisticsOptions {
  seed: number;
  resamples?: number;
  level?: number;
  /** Paired tests whose Holm-adjusted p is below this call two methods different (default 0.05). */
  alpha?: number;
}

/** statistics.json: intervals for every summary mean, paired tests and rankings (format fiveband-statistics/1). */
export interface StatisticsFile {
  format: 'fiveband-statistics/1';
  seed: number;
  resamples: number;
  level: number;
  alpha: number;
  /** method → group → column → mean and percentile bootstrap interval (null with fewer than two values). */
  intervals: Record<string, Record<string, Record<string, { mean: number | null; ci: [number, number] | null }>>>;
  /** column → every pair of methods on the samples where both are defined (group "all"), Holm over the pairs. */
  comparisons: Record<string, Array<{ a: string; b: string } & WilcoxonResult & { p_holm: number }>>;
  /** column → methods by mean, best first, each with the methods it is not significantly different from. */
  ranking: Record<string, Array<{ method: string; mean: number | null; rank: number; not_different_from: string[] }>>;
}

const meanOf = (values: readonly number[]) => (values.length === 0 ? null : values.reduce((s, v) => s + v, 0) / values.length);

/**
 * Bootstrap intervals of every mean (per method, group and column; one resampling of a group's samples serves
 * all its columns, from a stream seeded by (seed, method, group), so results do not depend on the method order),
 * Wilcoxon tests between every two methods per column with Holm's correction, and a ranking per column.
 */
export function compareMethods(
  methods: readonly MethodValues[], groups: Readonly<Record<string, readonly number[] | null>>, columns: readonly string[],
  options: StatisticsOptions,
): StatisticsFile {
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const alpha = options.alpha ?? 0.05;
  const intervals: StatisticsFile['intervals'] = {};
  for (const { method, values } of methods) {
    intervals[method] = {};
    for (const [group, indices] of Object.entries(groups)) {
      if (indices === null) continue;
      const rng = Rng.derive(options.seed, 'bootstrap', method, group);
      const n = indices.length;
      const draws = new Int32Array(resamples * n);
      for (let k = 0; k < draws.length; k++) draws[k] = indices[Math.floor(rng.next() * n)]!;
      const byColumn: Record<string, { mean: number | null; ci: [number, number] | null }> = {};
      for (const column of columns) {
        const perSample = values[column]!;
        const defined = indices.map((i) => perSample[i]).filter((v): v is number => v !== null && v !== undefined);
        let ci: [number, number] | null = null;
        if (defined.length >= 2) {
          const means: number[] = [];
          for (let b = 0; b < resamples; b++) {
            let sum = 0;
            let count = 0;
            for (let k = b * n; k < (b + 1) * n; k++) {
              const v = perSample[draws[k]!];
              if (v !== null && v !== undefined) {
                sum += v;
                count++;
              }
            }
            if (count > 0) means.push(sum / count);
          }
          means.sort((x, y) => x - y);
          ci = [percentileOfSorted(means, (100 * (1 - level)) / 2), percentileOfSorted(means, (100 * (1 + level)) / 2)];
        }
        byColumn[column] = { mean: meanOf(defined), ci };
      }
      intervals[method]![group] = byColumn;
    }
  }
  const comparisons: StatisticsFile['comparisons'] = {};
  const ranking: StatisticsFile['ranking'] = {};
  for (const column of columns) {
    const pairs: Array<{ a: string; b: string } & WilcoxonResult> = [];
    for (let i = 0; i < methods.length; i++) {
      for (let j = i + 1; j < methods.length; j++) {
        const x: number[] = [];
        const y: number[] = [];
        const [va, vb] = [methods[i]!.values[column]!, methods[j]!.values[column]!];
        for (const k of groups.all ?? []) {
          if (va[k] !== null && va[k] !== undefined && vb[k] !== null && vb[k] !== undefined) {
            x.push(va[k]!);
            y.push(vb[k]!);
          }
        }
        pairs.push({ a: methods[i]!.method, b: methods[j]!.method, ...wilcoxonSignedRank(x, y) });
      }
    }
    const adjusted = holmAdjust(pairs.map((p) => p.p));
    comparisons[column] = pairs.map((p, k) => ({ ...p, p_holm: adjusted[k]! }));
    const notDifferent = new Set(comparisons[column]!.filter((p) => p.p_holm >= alpha).flatMap((p) => [`${p.a}\n${p.b}`, `${p.b}\n${p.a}`]));
    const sameAs = (a: string, b: string) => notDifferent.has(`${a}\n${b}`);
    const order = methods.map((m) => ({ method: m.method, mean: intervals[m.method]!.all?.[column]?.mean ?? null }))
      .sort((p, q) => (q.mean ?? -Infinity) - (p.mean ?? -Infinity));
    ranking[column] = order.map((entry, k) => ({
      ...entry, rank: k + 1, not_different_from: order.filter((o) => o.method !== entry.method && sameAs(entry.method, o.method)).map((o) => o.method),
    }));
  }
  return { format: 'fiveband-statistics/1', seed: options.seed, resamples, level, alpha, intervals, comparisons, ranking };
}
