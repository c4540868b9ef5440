import { UserError } from '../io/index.js';
import { GROUND_TRUTH_THRESHOLDS } from './settings.js';

/** Five-band stratification of one value (spec §3.3): −2 if v ≤ g0; −1 if ≤ g1; 0 if ≤ g2; 1 if ≤ g3; else 2. */
export function band(v: number, g0: number, g1: number, g2: number, g3: number): number {
  if (v <= g0) return -2;
  if (v <= g1) return -1;
  if (v <= g2) return 0;
  if (v <= g3) return 1;
  return 2;
}

/** Ground truth given as heatmap values (0 / 0.4 / 0.9, or resized continuous values) or as bands. */
export type TruthData = Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Uint32Array;

/**
 * Ground-truth bands (Int8Array of −2…2) from either kind of ground truth:
 * - float arrays are heatmap values, banded at [-0.7, -0.3, 0.3, 0.7] as the reference does (0.9 → 2, 0.4 → 1);
 * - integer arrays are bands already (the dataset's uint8 0/1/2); values outside 0…2 are rejected.
 * `source` names the input in errors; `elementOffset` is where `data` starts in it. `out` may be a reused buffer.
 */
export function toTruthBands(data: TruthData, source = 'ground truth', elementOffset = 0, out = new Int8Array(data.length)): Int8Array {
  if (data instanceof Float32Array || data instanceof Float64Array) {
    const [g0, g1, g2, g3] = GROUND_TRUTH_THRESHOLDS;
    // band() written out, with a running finiteness check (NaN or ±Inf make v − v non-zero) tested once at the end.
    let finite = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      finite += v - v;
      out[i] = v <= g1 ? (v <= g0 ? -2 : -1) : v <= g2 ? 0 : v <= g3 ? 1 : 2;
    }
    if (finite !== 0) {
      const bad = data.findIndex((v) => v - v !== 0);
      throw new UserError(`${source}: NaN or Inf at element ${elementOffset + bad}`);
    }
    return out;
  }
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b !== 0 && b !== 1 && b !== 2) {
      throw new UserError(`${source}: integer ground truth must hold bands 0, 1, 2 (found ${b} at element ${elementOffset + i}); give 0/0.4/0.9 values as floats`);
    }
    out[i] = b;
  }
  return out;
}
