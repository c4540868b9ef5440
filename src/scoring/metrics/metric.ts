import type { Degeneracy } from '../adjust.js';

/** What a metric sees of one scored heatmap. Arrays are only valid during `compute` (buffers are reused). */
export interface MetricContext {
  /** The adjusted heatmap (H×W, row-major, in [-1, 1]) that the five-band score banded. */
  adjusted: Float64Array;
  /** Ground-truth bands (H×W, −2…2; the dataset's are 0/1/2). */
  truth: Int8Array;
  height: number;
  width: number;
  degeneracy: Degeneracy;
  /** Index of the threshold set with the best pixel accuracy A (the first one on ties, like np.argmax). */
  bestIndex: number;
  /**
   * Band confusion counts at threshold set `m`: entry (truthBand + 2) · 5 + (heatmapBand + 2) counts the pixels
   * with that pair of bands.
   */
  confusion(m: number): Float64Array;
}

/**
 * An extra metric on banded ground truth. It produces one value per column for every heatmap;
 * `null` means "not defined for this heatmap" (e.g. an empty ground-truth region) and is written as an
 * empty CSV cell and left out of means, never as NaN.
 */
export interface Metric {
  name: string;
  /** Column names in the CSVs and summary, e.g. `pointing_game_b2`. */
  columns: readonly string[];
  compute(context: MetricContext): Array<number | null>;
}

/**
 * Ground-truth regions the localisation metrics look at, as column suffixes: `b2` is the 0.9 band
 * (truth band 2), `b12` the union of the 0.4 and 0.9 bands (truth band ≥ 1).
 */
export const REGION_SUFFIXES = ['b2', 'b12'] as const;
