import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/io/index.js';
import { Rng } from '../../src/rng/index.js';
import {
  FivebandScorer, PRESETS, presetSetting, thresholdSweep, toTruthBands, validateSetting, type ChannelAdjustment,
  type ScoreSetting,
} from '../../src/scoring/index.js';

// ---- The oracle: spec §3.2–3.4 written out literally, one threshold set at a time ----

function oracleAdjust(heatmap: ArrayLike<number>, channels: number, pixels: number, adjustment: ChannelAdjustment): Float64Array {
  const raw = Array.from(heatmap);
  let h = raw;
  if (adjustment.kind === 'clamp-normalised') {
    const m = Math.max(...raw.map(Math.abs));
    if (m > 0) h = raw.map((v) => v / m);
  }
  if (adjustment.kind === 'clamp-raw' || adjustment.kind === 'clamp-normalised') {
    h = h.map((v) => Math.min(Math.max(v, adjustment.lo), adjustment.hi));
  }
  const s = new Float64Array(pixels);
  for (let c = 0; c < channels; c++) for (let i = 0; i < pixels; i++) s[i] = s[i]! + h[c * pixels + i]!;
  if (raw.every((v) => v === 0) || adjustment.kind === 'sum-unnormalised') return s;
  const m = Math.max(...Array.from(s, Math.abs));
  if (m === 0) return new Float64Array(pixels); // fiveband's definition of the reference's 0/0 case
  return s.map((v) => v / m);
}

function oracleStratify(values: ArrayLike<number>, g: ArrayLike<number>): number[] {
  return Array.from(values, (v) => {
    if (v <= g[0]!) return -2;
    if (g[0]! < v && v <= g[1]!) return -1;
    if (g[1]! < v && v <= g[2]!) return 0;
    if (g[2]! < v && v <= g[3]!) return 1;
    return 2;
  });
}

function oracleScore(S: number[], S0: number[]): { A: number; R: number; P: number; FPR: number } {
  const eps = 1e-6;
  const eq = S.map((s, i) => s === S0[i]);
  let TP = 0;
  let FP = 0;
  let TN = 0;
  let FN = 0;
  S.forEach((s, i) => {
    const s0 = S0[i]!;
    if (s !== 0 && s0 !== 0 && eq[i]) TP++;
    if (s !== 0 && s0 === 0) FP++;
    if (s !== 0 && s0 !== 0 && !eq[i]) FP++;
    if (s === 0 && s0 === 0) TN++;
    if (s === 0 && s0 !== 0) FN++;
  });
  const A = eq.filter(Boolean).length / S.length;
  return { A, R: TP / (TP + FN + eps), P: TP / (TP + FP + eps), FPR: FP / (FP + TN + eps) };
}

function oracleSweep(heatmap: ArrayLike<number>, channels: number, truthValues: ArrayLike<number>, setting: ScoreSetting) {
  const pixels = truthValues.length;
  const adjusted = oracleAdjust(heatmap, channels, pixels, setting.adjustment);
  const S0 = oracleStratify(truthValues, [-0.7, -0.3, 0.3, 0.7]);
  const g = [...setting.start];
  const out = [];
  for (let m = 0; m < setting.steps; m++) {
    if (m > 0) for (let k = 0; k < 4; k++) g[k] = g[k]! + setting.step * (g[k]! > 0 ? -1 : 1);
    out.push(oracleScore(oracleStratify(adjusted, g), S0));
  }
  return out;
}

// ---- Spec test vectors T1–T5 (§3.4) through the public API ----

const base = Array.from({ length: 10 }, (_, i) => Math.round((-1 + (2 * i) / 9) * 1000) / 1000);

function scoreOne(heatmap: number[], channels: number, truth: number[], setting = presetSetting('mab')) {
  const scorer = new FivebandScorer(setting, 2, 5);
  return scorer.score(Float64Array.from(heatmap), 0, channels, toTruthBands(Float64Array.from(truth)));
}

const vectors: Array<{ name: string; heatmap: () => number[]; truth: () => number[]; A: number; R: number; P: number; FPR: number }> = [
  { name: 'T1 unchanged', heatmap: () => [...base, ...base, ...base], truth: () => base, A: 1.0, R: 0.9999998750000157, P: 0.9999998750000157, FPR: 0.0 },
  {
    name: 'T2 channel 0 row 0 = +1', heatmap: () => [1, 1, 1, 1, 1, ...base.slice(5), ...base, ...base], truth: () => base,
    A: 0.6, R: 0.57142848979593, P: 0.799999840000032, FPR: 0.33333322222225925,
  },
  {
    name: 'T3 channel 0 row 0 = -1', heatmap: () => [-1, -1, -1, -1, -1, ...base.slice(5), ...base, ...base], truth: () => base,
    A: 0.8, R: 0.9999998571428775, P: 0.7777776913580343, FPR: 0.6666664444445185,
  },
  {
    name: 'T4 ground truth row 0 = 0', heatmap: () => [...base, ...base, ...base], truth: () => [0, 0, 0, 0, 0, ...base.slice(5)],
    A: 0.6, R: 0.9999997500000625, P: 0.4999999375000079, FPR: 0.6666665555555741,
  },
  {
    name: 'T5 as T4, attribution row 1 = 0',
    heatmap: () => [0, 1, 2].flatMap(() => [...base.slice(0, 5), 0, 0, 0, 0, 0]), truth: () => [0, 0, 0, 0, 0, ...base.slice(5)],
    A: 0.2, R: 0.0, P: 0.0, FPR: 0.6666665555555741,
  },
];

for (const v of vectors) {
  test(`spec test vector ${v.name}`, () => {
    const s = scoreOne(v.heatmap(), 3, v.truth());
    for (const key of ['A', 'R', 'P', 'FPR'] as const) {
      assert.ok(Math.abs(s[key][0]! - v[key]) <= 1e-12, `${key}: ${s[key][0]} vs ${v[key]}`);
    }
    const direct = oracleSweep(v.heatmap(), 3, v.truth(), presetSetting('mab'))[0]!;
    for (const key of ['A', 'R', 'P', 'FPR'] as const) assert.ok(Math.abs(direct[key] - v[key]) <= 1e-12, `oracle ${key}`);
  });
}

// ---- Threshold walks (§3.5) ----

test('threshold walks end at the reference float64 values and have the reference lengths', () => {
  const last = (name: string) => {
    const g = thresholdSweep(PRESETS[name]!);
    return Array.from(g.subarray(g.length - 4));
  };
  assert.deepEqual(last('v1'), [-0.22499999999999976, -0.024999999999999793, 0.024999999999999793, 0.22499999999999976]);
  assert.deepEqual(last('v1-clamp'), [-0.49999999999999967, -0.09999999999999969, 0.09999999999999969, 0.49999999999999967]);
  assert.deepEqual(last('v2'), [-0.4249999999999997, -0.024999999999999793, 0.024999999999999793, 0.4249999999999997]);
  assert.deepEqual(last('mab'), [-0.7, -0.3, 0.3, 0.7]);
  assert.equal(thresholdSweep(PRESETS.v1!).length, 56 * 4);
  assert.equal(thresholdSweep(PRESETS['v1-clamp']!).length, 41 * 4);
});

test('settings that break g0 < g1 < 0 < g2 < g3 and unknown presets are user errors', () => {
  assert.throws(() => validateSetting({ ...PRESETS.v1!, name: 'x', steps: 61 }), (e: Error) => e instanceof UserError && /threshold set 60/.test(e.message));
  assert.throws(() => validateSetting({ ...PRESETS.v1!, name: 'x', start: [-0.5, 0.1, 0.3, 0.5] }), UserError);
  assert.throws(() => presetSetting('v3'), (e: Error) => e instanceof UserError && /unknown score setting "v3".*v1, v1-clamp, v2, mab/.test(e.message));
});

// ---- Fast path == direct definition on random heatmaps with exact ties ----

/** The next double above (dir = 1) or below (dir = -1) x. */
function nextDouble(x: number, dir: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, bits + (x > 0 === (dir > 0) ? 1n : -1n));
  return view.getFloat64(0);
}

const settings: ScoreSetting[] = [
  ...Object.values(PRESETS),
  { name: 'paper-clamp', start: [-0.9, -0.5, 0.5, 0.9], step: 0.01, steps: 41, adjustment: { kind: 'clamp-normalised', lo: -0.1, hi: 0.1 } },
  { name: 'custom', start: [-0.61, -0.2, 0.15, 0.8], step: 0.0123, steps: 9, adjustment: { kind: 'sum' } },
  { name: 'unnormalised', start: [-1.5, -0.3, 0.3, 1.2], step: 0.05, steps: 5, adjustment: { kind: 'sum-unnormalised' } },
];

/** A random heatmap whose adjusted values often sit exactly on (or one ulp off) a threshold of `setting`. */
function tieHeavyHeatmap(rng: Rng, setting: ScoreSetting, channels: number, pixels: number): Float64Array {
  const thresholds = Array.from(thresholdSweep(setting));
  const special = [...thresholds, ...thresholds.map((t) => nextDouble(t, 1)), ...thresholds.map((t) => nextDouble(t, -1)), 0, 1, -1];
  const h = new Float64Array(channels * pixels);
  const kind = rng.int(0, 4);
  for (let i = 0; i < pixels; i++) {
    if (kind === 0 || (kind === 1 && rng.next() < 0.5)) {
      h[i] = special[rng.int(0, special.length)]!; // other channels stay 0, so the sum is exactly this value
    } else if (kind === 2) {
      for (let c = 0; c < channels; c++) h[c * pixels + i] = rng.int(-3, 4) / 4; // many exact ties after / max
    } else {
      for (let c = 0; c < channels; c++) h[c * pixels + i] = rng.normal(0, rng.next() < 0.1 ? 5 : 0.3);
    }
  }
  if (kind <= 1) h[rng.int(0, pixels)] = rng.next() < 0.5 ? 1 : -1; // max |sum| = 1: values survive division exactly
  return h;
}

function randomTruth(rng: Rng, pixels: number): Float64Array {
  const values = [0, 0.4, 0.9, 0.3, 0.7, -0.3, -0.7, -0.9, nextDouble(0.3, 1), nextDouble(0.7, -1), rng.next()];
  return Float64Array.from({ length: pixels }, () => values[rng.int(0, rng.next() < 0.8 ? 3 : values.length)]!);
}

test('fast sweep equals the direct per-threshold definition on thousands of random heatmaps (all presets, ties)', () => {
  let compared = 0;
  for (const setting of settings) {
    const rng = Rng.derive(7, 'scoring-oracle', setting.name);
    for (let trial = 0; trial < 400; trial++) {
      const height = rng.int(1, 9);
      const width = rng.int(1, 9);
      const channels = rng.int(1, 4);
      const pixels = height * width;
      const heatmap = tieHeavyHeatmap(rng, setting, channels, pixels);
      const truth = randomTruth(rng, pixels);
      const scorer = new FivebandScorer(setting, height, width);
      const fast = scorer.score(heatmap, 0, channels, toTruthBands(truth));
      const direct = oracleSweep(heatmap, channels, truth, setting);
      direct.forEach((d, m) => {
        assert.equal(fast.A[m], d.A, `${setting.name} trial ${trial} m ${m} A`);
        assert.equal(fast.R[m], d.R, `${setting.name} trial ${trial} m ${m} R`);
        assert.equal(fast.P[m], d.P, `${setting.name} trial ${trial} m ${m} P`);
        assert.equal(fast.FPR[m], d.FPR, `${setting.name} trial ${trial} m ${m} FPR`);
      });
      compared++;
    }
  }
  assert.equal(compared, settings.length * 400);
});

test('float32 heatmaps: channel sums in float64 give the oracle result too', () => {
  const rng = Rng.derive(8, 'scoring-f32');
  for (let trial = 0; trial < 200; trial++) {
    const pixels = 36;
    const heatmap = Float32Array.from({ length: 3 * pixels }, () => rng.normal(0, 1));
    const truth = randomTruth(rng, pixels);
    const fast = new FivebandScorer(PRESETS.v1!, 6, 6).score(heatmap, 0, 3, toTruthBands(truth));
    const direct = oracleSweep(heatmap, 3, truth, PRESETS.v1!);
    direct.forEach((d, m) => assert.deepEqual([fast.A[m], fast.R[m], fast.P[m], fast.FPR[m]], [d.A, d.R, d.P, d.FPR]));
  }
});

// ---- Degenerate maps and bad input ----

test('an all-zero heatmap and channel sums cancelling to zero score as all band 0, flagged, never NaN', () => {
  const truth = toTruthBands(Float64Array.from([0, 0.4, 0.9, 0, 0, 0.9]));
  const scorer = new FivebandScorer(PRESETS.v1!, 2, 3);
  const zero = scorer.score(new Float32Array(18), 0, 3, truth);
  assert.equal(zero.degeneracy, 'all-zero');
  const cancelling = Float32Array.from([1, -2, 0.5, 0, 0, 0, -1, 2, -0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const cancelled = scorer.score(cancelling, 0, 3, truth);
  assert.equal(cancelled.degeneracy, 'cancelled');
  for (const s of [zero, cancelled]) {
    for (let m = 0; m < 56; m++) {
      assert.equal(s.A[m], 3 / 6); // band 0 matches exactly the three ground-truth zeros
      assert.equal(s.R[m], 0);
      assert.equal(s.P[m], 0);
      assert.equal(s.FPR[m], 0);
      assert.deepEqual(Array.from(s.counts.subarray(4 * m, 4 * m + 4)), [0, 0, 3, 3]);
    }
  }
  assert.equal(scorer.score(Float32Array.from({ length: 18 }, (_, i) => (i === 4 ? 0.3 : 0)), 0, 3, truth).degeneracy, 'none');
});

test('NaN or Inf in a heatmap is a user error, for the plain and the clamp adjustment', () => {
  const truth = new Int8Array(4);
  for (const setting of [PRESETS.v1!, PRESETS['v1-clamp']!]) {
    const scorer = new FivebandScorer(setting, 2, 2);
    assert.throws(() => scorer.score(Float32Array.from([0, 1, NaN, 0]), 0, 1, truth), UserError);
    assert.throws(() => scorer.score(Float64Array.from([0, 1, Infinity, 0]), 0, 1, truth), UserError);
    assert.throws(() => scorer.score(Float64Array.from([0, Infinity, -Infinity, 0]), 0, 1, truth), UserError);
  }
});

test('ground truth as uint8 bands equals ground truth as 0/0.4/0.9 values; other integers are rejected', () => {
  const values = Float32Array.from([0, 0.4, 0.9, 0.4, 0, 0.9]);
  assert.deepEqual(toTruthBands(values), Int8Array.from([0, 1, 2, 1, 0, 2]));
  assert.deepEqual(toTruthBands(Uint8Array.from([0, 1, 2, 1, 0, 2])), Int8Array.from([0, 1, 2, 1, 0, 2]));
  assert.throws(() => toTruthBands(Uint8Array.from([0, 3])), /bands 0, 1, 2/);
  assert.throws(() => toTruthBands(Float32Array.from([0, NaN])), UserError);
});

test('the clamp adjustments follow the reference code (raw clamp) and the paper (normalise first)', () => {
  // Raw values 0.05 and 0.08 (ground-truth bands 1, 2). The code's order clamps nothing (both within ±0.1):
  // 0.05/0.08 = 0.625 → band 1, 1 → band 2, both right. The paper's order normalises first (0.625, 1), clamps
  // both to 0.1 and renormalises to 1, 1 → bands 2, 2: one right.
  const truth = Int8Array.from([1, 2]);
  const raw = new FivebandScorer({ name: 'r', start: [-0.9, -0.5, 0.5, 0.9], step: 0, steps: 1, adjustment: { kind: 'clamp-raw', lo: -0.1, hi: 0.1 } }, 1, 2);
  const paper = new FivebandScorer({ name: 'p', start: [-0.9, -0.5, 0.5, 0.9], step: 0, steps: 1, adjustment: { kind: 'clamp-normalised', lo: -0.1, hi: 0.1 } }, 1, 2);
  assert.equal(raw.score(Float64Array.from([0.05, 0.08]), 0, 1, truth).A[0], 1);
  assert.equal(paper.score(Float64Array.from([0.05, 0.08]), 0, 1, truth).A[0], 0.5);
});

test('mab maps without 0.9 pixels: the reference normalisation lifts 0.4 to band 2; sum-unnormalised keeps band 1', () => {
  const truth = Int8Array.from([1, 1, 0, 0]);
  const map = Float32Array.from([0.4, 0.4, 0, 0]);
  const reference = new FivebandScorer(presetSetting('mab'), 2, 2).score(map, 0, 1, truth);
  const unnormalised = new FivebandScorer({ ...presetSetting('mab'), adjustment: { kind: 'sum-unnormalised' } }, 2, 2).score(map, 0, 1, truth);
  assert.equal(reference.A[0], 0.5); // 0.4 / 0.4 = 1 → band 2 ≠ 1
  assert.equal(unnormalised.A[0], 1);
});

test('absolute: |channel sum| is scored; a negated map scores as the map; a non-negative map is unchanged', () => {
  const truth = [0.9, 0.9, 0.9, 0.4, 0.4, 0, 0, 0, 0.9, 0];
  const map = [0.95, 0.8, 1, 0.5, 0.45, 0.05, 0, 0.1, 0.9, 0]; // one channel, already close to the truth
  const abs: ScoreSetting = { ...PRESETS.v1!, adjustment: { kind: 'sum', absolute: true } };
  const plain = scoreOne(map, 1, truth, PRESETS.v1!);
  const negated = scoreOne(map.map((v) => -v), 1, truth, PRESETS.v1!);
  assert.ok(negated.R[0]! < 1e-6 && plain.R[0]! > 0.99); // signed: negative evidence lands in the negative bands
  assert.deepEqual(scoreOne(map.map((v) => -v), 1, truth, abs).R, plain.R);
  assert.deepEqual(scoreOne(map, 1, truth, abs).P, plain.P);
  // Mixed signs: the absolute map is the plain score of |map|.
  const mixed = map.map((v, i) => (i % 2 ? -v : v));
  assert.deepEqual(scoreOne(mixed, 1, truth, abs).A, scoreOne(mixed.map(Math.abs), 1, truth, PRESETS.v1!).A);
});
