import { Rng } from '../rng/index.js';
import { npMean, npStd, percentileOfSorted } from '../scoring/index.js';

/** Resamples of the percentile bootstrap. */
export const BOOTSTRAP_RESAMPLES = 1000;

/** Mean, population standard deviation (as the scorer's summaries) and a 95 % bootstrap interval of the mean. */
export interface MeanStat {
  mean: number;
  std: number;
  ci95: [number, number];
  n: number;
}

/** numpy's default percentile (linear interpolation between closest ranks) of sorted values: the scorer's. */
export const percentile = percentileOfSorted;

/**
 * Means, standard deviations and percentile-bootstrap 95 % intervals of several columns measured on the
 * same samples. The resampled indices are shared by the columns and drawn from `Rng.derive('report',
 * 'bootstrap', ...key)`, so the intervals are deterministic for a given key and data.
 */
export function describeColumns(columns: Record<string, ArrayLike<number>>, key: ReadonlyArray<string | number>, resamples = BOOTSTRAP_RESAMPLES): Record<string, MeanStat> {
  const names = Object.keys(columns);
  const n = names.length === 0 ? 0 : columns[names[0]!]!.length;
  const out: Record<string, MeanStat> = {};
  if (n === 0) {
    for (const name of names) out[name] = { mean: NaN, std: NaN, ci95: [NaN, NaN], n: 0 };
    return out;
  }
  const rng = Rng.derive('report', 'bootstrap', ...key);
  const means = names.map(() => new Float64Array(resamples));
  const sums = new Float64Array(names.length);
  const values = names.map((name) => columns[name]!);
  for (let r = 0; r < resamples; r++) {
    sums.fill(0);
    for (let k = 0; k < n; k++) {
      const i = rng.int(0, n);
      for (let c = 0; c < values.length; c++) sums[c] = sums[c]! + values[c]![i]!;
    }
    for (let c = 0; c < values.length; c++) means[c]![r] = sums[c]! / n;
  }
  names.forEach((name, c) => {
    const sorted = means[c]!.sort();
    out[name] = { mean: npMean(values[c]!), std: npStd(values[c]!), ci95: [percentile(sorted, 2.5), percentile(sorted, 97.5)], n };
  });
  return out;
}

/** Largest-remainder-free downsampling of a curve to at most `max` points: bucket means, deterministic. */
export function downsample<T extends Record<string, number | null>>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const out: T[] = [];
  const per = points.length / max;
  for (let b = 0; b < max; b++) {
    const lo = Math.floor(b * per);
    const hi = Math.max(lo + 1, Math.floor((b + 1) * per));
    const bucket = points.slice(lo, hi);
    const mean = {} as Record<string, number | null>;
    for (const key of Object.keys(bucket[0]!)) {
      const vals = bucket.map((p) => p[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      mean[key] = vals.length ? vals.reduce((s, v) => s + v, 0) / vals.length : null;
    }
    out.push(mean as T);
  }
  return out;
}
