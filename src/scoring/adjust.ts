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

/** Thrown when a heatmap holds NaN or ±Inf; `sampleIndex` is filled in by the batch layer. */
export class NonFiniteHeatmapError extends UserError {
  constructor(readonly sampleIndex: number) {
    super(`heatmap ${sampleIndex} holds NaN or Inf values`);
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
  if (adjustment.kind === 'sum') {
    sumChannels(heatmap, offset, channels, pixels, out);
  } else {
    clampAndSumChannels(heatmap, offset, channels, pixels, adjustment, out);
  }
  let max = 0;
  for (let i = 0; i < pixels; i++) {
    const s = out[i]!;
    // A finite sum implies finite inputs (clamping checks its inputs itself): NaN or Inf make s - s non-zero.
    if (s - s !== 0) throw new NonFiniteHeatmapError(-1);
    const a = Math.abs(s);
    if (a > max) max = a;
  }
  if (max === 0) {
    out.fill(0);
    return anyNonZeroIn(heatmap, offset, channels * pixels) ? 'cancelled' : 'all-zero';
  }
  for (let i = 0; i < pixels; i++) out[i] = out[i]! / max;
  return 'none';
}

/** out[i] = Σ_c heatmap[offset + c·pixels + i], accumulated in float64 in channel order. */
function sumChannels(heatmap: HeatmapData, offset: number, channels: number, pixels: number, out: Float64Array): void {
  if (channels === 3) {
    const o1 = offset + pixels;
    const o2 = offset + 2 * pixels;
    for (let i = 0; i < pixels; i++) out[i] = heatmap[offset + i]! + heatmap[o1 + i]! + heatmap[o2 + i]!;
    return;
  }
  for (let i = 0; i < pixels; i++) out[i] = heatmap[offset + i]!;
  for (let c = 1; c < channels; c++) {
    const base = offset + c * pixels;
    for (let i = 0; i < pixels; i++) out[i] = out[i]! + heatmap[base + i]!;
  }
}

/** Clamp variants: clip (after dividing by max |h| for the paper's order), then sum in float64. */
function clampAndSumChannels(
  heatmap: HeatmapData, offset: number, channels: number, pixels: number,
  adjustment: Extract<ChannelAdjustment, { lo: number }>, out: Float64Array,
): void {
  const { lo, hi } = adjustment;
  let inputMax = 0;
  for (let i = offset, end = offset + channels * pixels; i < end; i++) {
    const v = heatmap[i]!;
    if (v - v !== 0) throw new NonFiniteHeatmapError(-1);
    const a = Math.abs(v);
    if (a > inputMax) inputMax = a;
  }
  // The paper's order normalises first; an all-zero input stays all zero either way.
  const scale = adjustment.kind === 'clamp-normalised' && inputMax > 0 ? inputMax : 1;
  out.fill(0);
  for (let c = 0; c < channels; c++) {
    const base = offset + c * pixels;
    for (let i = 0; i < pixels; i++) {
      let v = scale === 1 ? heatmap[base + i]! : heatmap[base + i]! / scale;
      if (v < lo) v = lo;
      else if (v > hi) v = hi;
      out[i] = out[i]! + v;
    }
  }
}

function anyNonZeroIn(data: HeatmapData, offset: number, length: number): boolean {
  for (let i = offset, end = offset + length; i < end; i++) if (data[i] !== 0) return true;
  return false;
}
