import { UserError } from '../io/index.js';

/** Four thresholds [g0, g1, g2, g3] with g0 < g1 < 0 < g2 < g3 (spec §3.3). */
export type Thresholds = readonly [number, number, number, number];

/**
 * How the raw n×C×H×W attribution becomes one H×W map in [-1, 1] before it is banded (spec §3.2). `absolute`
 * (not in the reference; the paper's suggestion for DeepLift): score |channel sum| instead of the signed sum, as
 * Captum's visualisation does with sign "absolute_value", so negative evidence counts as relevance.
 */
export type ChannelAdjustment = ChannelCombination & { absolute?: boolean };

type ChannelCombination =
  /** Reference default: sum over channels, divide by max |sum|. */
  | { kind: 'sum' }
  /**
   * Channel sum without the division: for maps already on the ground truth's scale, e.g. decoded mab maps
   * (0 / 0.4 / 0.9), where dividing by the max turns a map without 0.9 pixels into 0.4 → 1.0 → band 2
   * (spec §4.4; the reference does divide).
   */
  | { kind: 'sum-unnormalised' }
  /** Reference code's clamp: clip the raw attribution to [lo, hi], then sum and divide by max |sum|. */
  | { kind: 'clamp-raw'; lo: number; hi: number }
  /** The paper's stated order: divide by max |h|, clip to [lo, hi], sum, divide by max |sum|. */
  | { kind: 'clamp-normalised'; lo: number; hi: number };

/**
 * A soft-threshold sweep (spec §3.5): `steps` threshold sets starting at `start`, each component moving
 * `step` towards 0 per step by repeated float64 addition, exactly like the reference.
 */
export interface ScoreSetting {
  name: string;
  start: Thresholds;
  step: number;
  steps: number;
  adjustment: ChannelAdjustment;
}

/** The ground truth is always banded with these thresholds (0.9 → 2, 0.4 → 1, 0 → 0). */
export const GROUND_TRUTH_THRESHOLDS: Thresholds = [-0.7, -0.3, 0.3, 0.7];

/** The named settings of the reference (spec §3.5, §4.4). */
export const PRESETS: Readonly<Record<string, ScoreSetting>> = {
  v1: { name: 'v1', start: [-0.5, -0.3, 0.3, 0.5], step: 0.005, steps: 56, adjustment: { kind: 'sum' } },
  'v1-clamp': {
    name: 'v1-clamp', start: [-0.9, -0.5, 0.5, 0.9], step: 0.01, steps: 41,
    adjustment: { kind: 'clamp-raw', lo: -0.1, hi: 0.1 },
  },
  v2: { name: 'v2', start: [-0.7, -0.3, 0.3, 0.7], step: 0.005, steps: 56, adjustment: { kind: 'sum' } },
  mab: { name: 'mab', start: [-0.7, -0.3, 0.3, 0.7], step: 0, steps: 1, adjustment: { kind: 'sum' } },
};

/** The preset called `name`, or a UserError naming the known ones. */
export function presetSetting(name: string): ScoreSetting {
  const setting = PRESETS[name];
  if (!setting) throw new UserError(`unknown score setting "${name}" (known: ${Object.keys(PRESETS).join(', ')}, or a custom --start/--step/--steps)`);
  return setting;
}

/**
 * The threshold sets of a sweep as a flat Float64Array of `steps` × 4 values.
 * g_m = g_{m-1} + step·(−1 if component > 0 else +1), by repeated addition (not start ± m·step), so the
 * band edges are the reference's bit for bit: v1 ends at [-0.22499999999999976, -0.024999999999999793, …].
 */
export function thresholdSweep(setting: ScoreSetting): Float64Array {
  const { start, step, steps } = setting;
  const out = new Float64Array(steps * 4);
  const g = [...start];
  for (let m = 0; m < steps; m++) {
    if (m > 0) for (let k = 0; k < 4; k++) g[k] = g[k]! + step * (g[k]! > 0 ? -1 : 1);
    out.set(g, m * 4);
  }
  return out;
}

/** Checks a setting (custom ones come from users): every threshold set must satisfy g0 < g1 < 0 < g2 < g3. */
export function validateSetting(setting: ScoreSetting): ScoreSetting {
  const { start, step, steps, adjustment } = setting;
  const fail = (why: string): never => {
    throw new UserError(`score setting "${setting.name}": ${why}`);
  };
  if (start.length !== 4 || !start.every(Number.isFinite)) fail('start needs four finite thresholds');
  if (!Number.isFinite(step) || step < 0) fail('step must be a finite number >= 0');
  if (!Number.isInteger(steps) || steps < 1 || steps > 100_000) fail('steps must be an integer from 1 to 100000');
  if ((adjustment.kind === 'clamp-raw' || adjustment.kind === 'clamp-normalised') && !(Number.isFinite(adjustment.lo) && Number.isFinite(adjustment.hi) && adjustment.lo < adjustment.hi)) {
    fail('clamp needs finite bounds lo < hi');
  }
  const g = thresholdSweep(setting);
  for (let m = 0; m < steps; m++) {
    const [g0, g1, g2, g3] = [g[4 * m]!, g[4 * m + 1]!, g[4 * m + 2]!, g[4 * m + 3]!];
    if (!(g0 < g1 && g1 < 0 && 0 < g2 && g2 < g3)) {
      fail(`threshold set ${m} is [${g0}, ${g1}, ${g2}, ${g3}]; every set needs g0 < g1 < 0 < g2 < g3 (fewer steps or a smaller step?)`);
    }
  }
  return setting;
}
