import { channelSum, type Degeneracy, type HeatmapData } from './adjust.js';
import type { Metric, MetricContext } from './metrics/metric.js';
import { thresholdSweep, validateSetting, type ScoreSetting } from './settings.js';

/** The reference's eps in R, P and FPR (spec §3.4). */
export const EPS = 1e-6;

/** Scores of one heatmap over every threshold set of a sweep (index m = 0 … steps−1). */
export interface SampleScores {
  /** Pixel accuracy, recall, precision and false-positive rate per threshold set. */
  A: Float64Array;
  R: Float64Array;
  P: Float64Array;
  FPR: Float64Array;
  /** TP, FP, TN, FN per threshold set (4 values per set). */
  counts: Float64Array;
  degeneracy: Degeneracy;
  /** Extra metric values by column name (null: not defined for this heatmap). */
  metrics: Record<string, number | null>;
}

/**
 * Scores heatmaps of one size over one sweep without T passes over the pixels: every pixel of the adjusted
 * map is binned once against the sorted union of all thresholds of the sweep (a bin's index = the number of
 * thresholds strictly below the value), per ground-truth band; prefix sums then give #(v ≤ t) for every
 * threshold t, from which the five band counts of every threshold set follow. This is exactly the direct
 * definition (v ≤ g is "bin index ≤ index of g"), including values equal to a threshold.
 * Holds reusable buffers: one instance per thread.
 */
export class FivebandScorer {
  readonly setting: ScoreSetting;
  readonly thresholds: Float64Array;
  readonly steps: number;
  private readonly union: Float64Array;
  /** For threshold set m and component k, the index in `union` of g_m[k]. */
  private readonly positions: Int32Array;
  /**
   * The value range [-1, 1] cut into cells. lut[c] ≥ 0: no threshold lies in cell c or its neighbours, so
   * every value landing there (even off by one cell through rounding) is in bin lut[c]. lut[c] < 0: a start
   * guess −(bin + 1) for a short search.
   */
  private readonly lut: Int32Array;
  private readonly adjusted: Float64Array;
  /** Per ground-truth band (−2…2 → rows 0…4), counts per bin; turned into prefix counts in place. */
  private readonly cumulative: Int32Array;

  constructor(setting: ScoreSetting, readonly height: number, readonly width: number) {
    this.setting = validateSetting(setting);
    this.thresholds = thresholdSweep(setting);
    this.steps = setting.steps;
    this.union = Float64Array.from(new Set(this.thresholds)).sort();
    const indexOf = new Map(Array.from(this.union, (t, i) => [t, i]));
    this.positions = Int32Array.from(this.thresholds, (t) => indexOf.get(t)!);
    this.lut = new Int32Array(16384);
    const half = this.lut.length / 2;
    // Two moving counts: thresholds below the cell's left neighbour's start, and not above its right neighbour's end.
    for (let c = 0, below = 0, notAbove = 0; c < this.lut.length; c++) {
      while (below < this.union.length && this.union[below]! < -1 + (c - 1) / half) below++;
      while (notAbove < this.union.length && this.union[notAbove]! <= -1 + (c + 2) / half) notAbove++;
      this.lut[c] = below === notAbove ? below : -(below + 1);
    }
    this.adjusted = new Float64Array(height * width);
    this.cumulative = new Int32Array(5 * (this.union.length + 1));
  }

  /**
   * Scores the heatmap `heatmap[offset …]` (C×H×W, `channels` planes) against ground-truth bands
   * `truth[truthOffset …]` (H×W), and computes `metrics` on the result.
   */
  score(heatmap: HeatmapData, offset: number, channels: number, truth: Int8Array, truthOffset = 0, metrics: readonly Metric[] = []): SampleScores {
    const pixels = this.height * this.width;
    const { degeneracy, divisor } = channelSum(heatmap, offset, channels, pixels, this.setting.adjustment, this.adjusted);
    this.normaliseAndBin(divisor, truth, truthOffset, metrics.length > 0);
    const T = this.steps;
    // One backing array for all five (fewer objects to allocate, send between threads and keep per sample).
    const all = new Float64Array(8 * T);
    const scores: SampleScores = {
      A: all.subarray(0, T), R: all.subarray(T, 2 * T), P: all.subarray(2 * T, 3 * T), FPR: all.subarray(3 * T, 4 * T),
      counts: all.subarray(4 * T), degeneracy, metrics: {},
    };
    const bandCounts = new Float64Array(25);
    for (let m = 0; m < T; m++) {
      this.confusionInto(m, bandCounts);
      let tp = 0;
      let fp = 0;
      let tn = 0;
      let fn = 0;
      for (let t = 0; t < 5; t++) {
        let inBand = 0;
        for (let s = 0; s < 5; s++) inBand += bandCounts[t * 5 + s]!;
        const zero = bandCounts[t * 5 + 2]!;
        if (t === 2) {
          tn = zero;
          fp += inBand - zero;
        } else {
          const match = bandCounts[t * 5 + t]!;
          tp += match;
          fn += zero;
          fp += inBand - match - zero;
        }
      }
      scores.A[m] = (tp + tn) / pixels;
      scores.R[m] = tp / (tp + fn + EPS);
      scores.P[m] = tp / (tp + fp + EPS);
      scores.FPR[m] = fp / (fp + tn + EPS);
      scores.counts.set([tp, fp, tn, fn], 4 * m);
    }
    if (metrics.length > 0) {
      let bestIndex = 0;
      for (let m = 1; m < T; m++) if (scores.A[m]! > scores.A[bestIndex]!) bestIndex = m;
      const context: MetricContext = {
        adjusted: this.adjusted, truth: truth.subarray(truthOffset, truthOffset + pixels),
        height: this.height, width: this.width, degeneracy, bestIndex,
        confusion: (m) => this.confusionInto(m, new Float64Array(25)),
      };
      for (const metric of metrics) {
        const values = metric.compute(context);
        metric.columns.forEach((column, i) => (scores.metrics[column] = values[i] ?? null));
      }
    }
    return scores;
  }

  /**
   * Divides the channel sum by `divisor` and bins every value per ground-truth band; then turns the bins into
   * prefix counts. With `keep`, the divided values are stored back (the adjusted map the metrics read).
   */
  private normaliseAndBin(divisor: number, truth: Int8Array, truthOffset: number, keep: boolean): void {
    const { adjusted, union, lut, cumulative } = this;
    const K = union.length;
    const stride = K + 1;
    const half = lut.length / 2;
    const cells = lut.length;
    cumulative.fill(0);
    for (let i = 0, pixels = adjusted.length; i < pixels; i++) {
      const v = adjusted[i]! / divisor;
      if (keep) adjusted[i] = v;
      const x = (v + 1) * half;
      // Values beyond [-1, 1] (unnormalised maps) fall outside the table and are searched from its ends.
      let j = x >= 0 && x < cells ? lut[x | 0]! : x < 0 ? -1 : -(K + 1);
      if (j < 0) {
        // j becomes the number of thresholds strictly below v, so that v <= union[k] exactly when j <= k.
        j = -j - 1;
        while (j < K && v > union[j]!) j++;
        while (j > 0 && v <= union[j - 1]!) j--;
      }
      cumulative[(truth[truthOffset + i]! + 2) * stride + j]++;
    }
    for (let t = 0; t < 5; t++) {
      for (let j = t * stride + 1, end = (t + 1) * stride; j < end; j++) cumulative[j] = cumulative[j]! + cumulative[j - 1]!;
    }
  }

  /** Band confusion counts at threshold set m (see MetricContext.confusion), from the prefix counts. */
  private confusionInto(m: number, out: Float64Array): Float64Array {
    const stride = this.union.length + 1;
    const p = this.positions;
    const p0 = p[4 * m]!;
    const p1 = p[4 * m + 1]!;
    const p2 = p[4 * m + 2]!;
    const p3 = p[4 * m + 3]!;
    for (let t = 0; t < 5; t++) {
      const c = this.cumulative;
      const base = t * stride;
      const le0 = c[base + p0]!;
      const le1 = c[base + p1]!;
      const le2 = c[base + p2]!;
      const le3 = c[base + p3]!;
      const all = c[base + stride - 1]!;
      out[t * 5] = le0;
      out[t * 5 + 1] = le1 - le0;
      out[t * 5 + 2] = le2 - le1;
      out[t * 5 + 3] = le3 - le2;
      out[t * 5 + 4] = all - le3;
    }
    return out;
  }
}
