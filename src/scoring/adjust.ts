import { UserError } from '../io/index.js';
import type { ChannelAdjustment } from './settings.js';

/**
 * What the channel adjustment found:
 * - `none`: an ordinary map, scaled so that max |value| = 1;
 * - `all-zero`: every raw attribution value is 0 (the reference returns the zero sum);
 * - `cancelled`: some raw value is non-zero but the channel sum is 0 everywhere (the reference divides 0/0
 *   and crashes on NaN). Both degenerate cases yield the all-zero map, i.e. band 0 at every pixel for every
 *   threshold set, and are flagged in the outputs instead of producing NaN.
 */
export type Degeneracy = 'none' | 'all-zero' | 'cancelled';

/** A single heatmap's raw attribution: `channels` planes of `pixels` values each, channel-major (C×H×W). */
export type HeatmapData = Float32Array | Float64Array;

/** Thrown when a heatmap holds NaN or ±Inf (the batch layer names the sample). */
export class NonFiniteHeatmapError extends UserError {
  constructor() {
    super('heatmap holds NaN or Inf values');
  }
}

/**
 * Channel adjustment (spec §3.2) of one heatmap into `out` (length `pixels`), all in float64: the channel
 * sum of float32 inputs is accumulated in float64 (the reference sums in the input's dtype), then divided —
 * a true division, as numpy does, not a multiplication by the reciprocal — by the max |sum|.
 * Returns the degeneracy; throws NonFiniteHeatmapError on NaN/Inf input.
 */
export function adjustHeatmap(
  heatmap: HeatmapData, offset: number, channels: number, pixels: number,
  adjustment: ChannelAdjustment, out: Float64Array,
): Degeneracy {
  const { degeneracy, divisor } = channelSum(heatmap, offset, channels, pixels, adjustment, out);
  if (degeneracy === 'none') for (let i = 0; i < pixels; i++) out[i] = out[i]! / divisor;
  return degeneracy;
}

/**
 * The first half of the adjustment: `out` gets the (clamped) channel sum, and `divisor` is its max |value|
 * (1 for `sum-unnormalised`), which the caller divides by (the scorer fuses that division with binning). Degenerate maps come back as
 * all zeros with divisor 1.
 */
export function channelSum(
  heatmap: HeatmapData, offset: number, channels: number, pixels: number,
  adjustment: ChannelAdjustment, out: Float64Array,
): { degeneracy: Degeneracy; divisor: number } {
  const max = adjustment.kind === 'sum' || adjustment.kind === 'sum-unnormalised'
    ? sumChannels(heatmap, offset, channels, pixels, out)
    : clampAndSumChannels(heatmap, offset, channels, pixels, adjustment, out);
  // A finite sum implies finite inputs (clamping checks its inputs itself): NaN or Inf make max - max non-zero.
  if (max - max !== 0) throw new NonFiniteHeatmapError();
  if (max > 0) {
    if (adjustment.absolute) for (let i = 0; i < pixels; i++) out[i] = Math.abs(out[i]!);
    return { degeneracy: 'none', divisor: adjustment.kind === 'sum-unnormalised' ? 1 : max };
  }
  out.fill(0);
  return { degeneracy: anyNonZeroIn(heatmap, offset, channels * pixels) ? 'cancelled' : 'all-zero', divisor: 1 };
}

/**
 * out[i] = Σ_c heatmap[offset + c·pixels + i], accumulated in float64 in channel order; returns max |out|,
 * or NaN if some sum is not finite.
 */
function sumChannels(heatmap: HeatmapData, offset: number, channels: number, pixels: number, out: Float64Array): number {
  // Math.max / Math.abs keep the loops branch-free on noisy maps, and Math.max propagates NaN.
  let max = 0;
  if (channels === 3) {
    const o1 = offset + pixels;
    const o2 = offset + 2 * pixels;
    for (let i = 0; i < pixels; i++) {
      const s = heatmap[offset + i]! + heatmap[o1 + i]! + heatmap[o2 + i]!;
      out[i] = s;
      max = Math.max(max, Math.abs(s));
    }
    return max;
  }
  for (let i = 0; i < pixels; i++) out[i] = heatmap[offset + i]!;
  for (let c = 1; c < channels; c++) {
    const base = offset + c * pixels;
    for (let i = 0; i < pixels; i++) out[i] = out[i]! + heatmap[base + i]!;
  }
  for (let i = 0; i < pixels; i++) max = Math.max(max, Math.abs(out[i]!));
  return max;
}

/** Clamp variants: clip (after dividing by max |h| for the paper's order), then sum in float64; returns max |sum|. */
function clampAndSumChannels(
  heatmap: HeatmapData, offset: number, channels: number, pixels: number,
  adjustment: Extract<ChannelAdjustment, { lo: number }>, out: Float64Array,
): number {
  const { lo, hi } = adjustment;
  let inputMax = 0;
  for (let i = offset, end = offset + channels * pixels; i < end; i++) inputMax = Math.max(inputMax, Math.abs(heatmap[i]!));
  if (inputMax - inputMax !== 0) throw new NonFiniteHeatmapError();
  // The paper's order normalises first; an all-zero input stays all zero either way.
  const scale = adjustment.kind === 'clamp-normalised' && inputMax > 0 ? inputMax : 1;
  if (scale !== 1) {
    // The paper's order: divide by max |h| on the fly, then clamp.
    for (let i = 0; i < pixels; i++) out[i] = Math.min(Math.max(heatmap[offset + i]! / scale, lo), hi);
    for (let c = 1; c < channels; c++) {
      const base = offset + c * pixels;
      for (let i = 0; i < pixels; i++) out[i] = out[i]! + Math.min(Math.max(heatmap[base + i]! / scale, lo), hi);
    }
  } else if (channels === 3) {
    // The reference code's order, one pass for the usual RGB attribution (summed in channel order).
    const o1 = offset + pixels;
    const o2 = offset + 2 * pixels;
    for (let i = 0; i < pixels; i++) {
      out[i] = Math.min(Math.max(heatmap[offset + i]!, lo), hi) + Math.min(Math.max(heatmap[o1 + i]!, lo), hi) +
        Math.min(Math.max(heatmap[o2 + i]!, lo), hi);
    }
  } else {
    for (let i = 0; i < pixels; i++) out[i] = Math.min(Math.max(heatmap[offset + i]!, lo), hi);
    for (let c = 1; c < channels; c++) {
      const base = offset + c * pixels;
      for (let i = 0; i < pixels; i++) out[i] = out[i]! + Math.min(Math.max(heatmap[base + i]!, lo), hi);
    }
  }
  let max = 0;
  for (let i = 0; i < pixels; i++) max = Math.max(max, Math.abs(out[i]!));
  return max;
}

function anyNonZeroIn(data: HeatmapData, offset: number, length: number): boolean {
  for (let i = offset, end = offset + length; i < end; i++) if (data[i] !== 0) return true;
  return false;
}
