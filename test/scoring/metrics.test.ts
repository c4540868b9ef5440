import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/rng/index.js';
import { FivebandScorer, METRICS, presetSetting, resolveMetrics, type SampleScores } from '../../src/scoring/index.js';

/** Scores a single-channel map (its max |value| is 1, so the adjusted map equals it) with every metric. */
function metricsOf(heatmap: number[], truthBands: number[], height: number, width: number): SampleScores['metrics'] {
  const scorer = new FivebandScorer(presetSetting('mab'), height, width);
  return scorer.score(Float64Array.from(heatmap), 0, 1, Int8Array.from(truthBands), 0, resolveMetrics('all')).metrics;
}

// Ground truth         Heatmap (thresholds ±0.3, ±0.7 → bands)
//  0 1 1                0.1  0.5  0.2      0  1  0
//  0 2 1               -0.3  1.0  0.0     -1  2  0
//  0 0 0                0.4  0.0 -1.0      1  0 -2
const truth = [0, 1, 1, 0, 2, 1, 0, 0, 0];
const heatmap = [0.1, 0.5, 0.2, -0.3, 1.0, 0.0, 0.4, 0.0, -1.0];

test('hand-made 3×3 case: pointing game, mass and rank accuracy, per-band IoU', () => {
  const m = metricsOf(heatmap, truth, 3, 3);
  assert.equal(m.pointing_game_b2, 1); // the maximum 1.0 sits on the 0.9 pixel
  assert.equal(m.pointing_game_b12, 1);
  assert.equal(m.mass_accuracy_b2, 1.0 / (0.1 + 0.5 + 0.2 + 1.0 + 0.4)); // positive mass only
  assert.equal(m.mass_accuracy_b12, (0.5 + 0.2 + 1.0 + 0.0) / (0.1 + 0.5 + 0.2 + 1.0 + 0.4));
  assert.equal(m.rank_accuracy_b2, 1); // K = 1: the top pixel is the 0.9 pixel
  assert.equal(m.rank_accuracy_b12, 3 / 4); // top 4 = 1.0, 0.5, 0.4 (outside), 0.2
  assert.equal(m.iou_b0, 2 / 7);
  assert.equal(m.iou_b1, 1 / 4);
  assert.equal(m.iou_b2, 1);
});

test('pointing game misses when the maximum lies outside; ties at the maximum count as a hit (Quantus)', () => {
  const outside = metricsOf([1, 0.2, 0.5, 0], [0, 2, 1, 0], 2, 2);
  assert.equal(outside.pointing_game_b2, 0);
  assert.equal(outside.pointing_game_b12, 0);
  const tie = metricsOf([1, 1, 0, 0], [2, 0, 0, 0], 2, 2);
  assert.equal(tie.pointing_game_b2, 1);
  // Rank accuracy with a tie at the K-th value: K = 1, two pixels share τ = 1, one of them inside → 1/2.
  assert.equal(tie.rank_accuracy_b2, 0.5);
});

test('constant and all-zero maps, empty regions and maps without positive relevance give null or 0, never NaN', () => {
  const zero = metricsOf([0, 0, 0, 0], [2, 1, 0, 0], 2, 2);
  assert.equal(zero.pointing_game_b2, 0); // a constant map points nowhere
  assert.equal(zero.mass_accuracy_b12, null); // no positive relevance: 0/0
  assert.equal(zero.rank_accuracy_b12, 2 / 4); // everything ties: expected share K/n
  const empty = metricsOf([0.2, -1, 0.1, 0], [0, 0, 0, 0], 2, 2); // class 9: no ground-truth region
  for (const column of ['pointing_game_b2', 'pointing_game_b12', 'mass_accuracy_b2', 'mass_accuracy_b12', 'rank_accuracy_b2', 'rank_accuracy_b12', 'iou_b1', 'iou_b2']) {
    assert.equal(empty[column], null, column);
  }
  assert.equal(empty.iou_b0, 3 / 4); // -1 is band -2; the other three pixels are band 0 on both sides
  const negative = metricsOf([-1, -0.5, 0, 0], [2, 0, 0, 0], 2, 2);
  assert.equal(negative.mass_accuracy_b2, null);
  for (const value of Object.values({ ...zero, ...empty, ...negative })) assert.ok(value === null || Number.isFinite(value));
});

test('rank accuracy equals a sort-based top-K count on random maps without ties', () => {
  const rng = Rng.derive(3, 'rank-accuracy');
  for (let trial = 0; trial < 300; trial++) {
    const n = rng.int(4, 200);
    const map = Array.from({ length: n }, () => rng.uniform(-1, 1));
    map[0] = 1;
    const bands = Array.from({ length: n }, () => rng.int(0, 3));
    const m = metricsOf(map, bands, 1, n);
    for (const [column, inRegion] of [['rank_accuracy_b2', (b: number) => b === 2], ['rank_accuracy_b12', (b: number) => b >= 1]] as const) {
      const k = bands.filter(inRegion).length;
      const top = map.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, k);
      const expected = k === 0 ? null : top.filter(([, i]) => inRegion(bands[i]!)).length / k;
      assert.equal(m[column], expected, `trial ${trial} ${column}`);
    }
  }
});

test('rank accuracy with ties equals the expectation over a sort-based top-K, on coarse and fine maps of up to 40,000 pixels', () => {
  const rng = Rng.derive(4, 'rank-accuracy-ties');
  for (let trial = 0; trial < 60; trial++) {
    const n = trial < 50 ? rng.int(4, 300) : rng.int(10_000, 40_000);
    const levels = [3, 17, 1000, 0][trial % 4]!; // 0: continuous values
    const map = Array.from({ length: n }, () => (levels ? Math.round(rng.uniform(-1, 1) * levels) / levels : rng.uniform(-1, 1)));
    map[0] = 1;
    if (trial % 5 === 0) for (let i = 0; i < n; i += 2) map[i] = 0; // a flat background
    const bands = Array.from({ length: n }, () => rng.int(0, 3));
    const m = metricsOf(map, bands, 1, n);
    for (const [column, inRegion] of [['rank_accuracy_b2', (b: number) => b === 2], ['rank_accuracy_b12', (b: number) => b >= 1]] as const) {
      const k = bands.filter(inRegion).length;
      if (k === 0) {
        assert.equal(m[column], null);
        continue;
      }
      const tau = [...map].sort((a, b) => b - a)[k - 1]!;
      const above = map.filter((v) => v > tau).length;
      const aboveIn = map.filter((v, i) => v > tau && inRegion(bands[i]!)).length;
      const tied = map.filter((v) => v === tau).length;
      const tiedIn = map.filter((v, i) => v === tau && inRegion(bands[i]!)).length;
      assert.equal(m[column], (aboveIn + ((k - above) * tiedIn) / tied) / k, `trial ${trial} ${column}`);
    }
  }
});

test('the registry lists every metric once and rejects unknown names', () => {
  const columns = METRICS.flatMap((m) => m.columns);
  assert.equal(new Set(columns).size, columns.length);
  assert.deepEqual(resolveMetrics(['band_iou']).map((m) => m.name), ['band_iou']);
  assert.throws(() => resolveMetrics(['nope']), /unknown metric "nope"/);
});
