import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/io/index.js';
import { Rng } from '../../src/rng/index.js';
import { createScoringPool, findNonFiniteSamples, presetSetting, scoreHeatmaps, type HeatmapBatch, type TruthBatch } from '../../src/scoring/index.js';

function batch(n: number, seed: number): { heatmaps: HeatmapBatch; truth: TruthBatch } {
  const rng = Rng.derive(seed, 'batch');
  const [height, width, channels] = [12, 10, 3];
  const data = Float32Array.from({ length: n * channels * height * width }, () => rng.normal(0, 1));
  const bands = Int8Array.from({ length: n * height * width }, () => rng.int(0, 3));
  return { heatmaps: { data, n, channels, height, width }, truth: { bands, n, height, width } };
}

test('scores are identical whatever the number of worker threads and the chunk size', async () => {
  const { heatmaps, truth } = batch(23, 1);
  const setting = presetSetting('v1');
  const single = await scoreHeatmaps(heatmaps, truth, { setting, metrics: 'all' });
  const progress: number[] = [];
  const pooled = await scoreHeatmaps(heatmaps, truth, { setting, metrics: 'all', workers: 2, chunkSize: 3, onProgress: (done) => progress.push(done) });
  assert.equal(single.length, 23);
  assert.deepEqual(pooled, single);
  assert.equal(progress.at(-1), 23);
  // A pool kept across calls reuses its staging buffers; results stay the same, also for another batch.
  const pool = createScoringPool(2);
  try {
    assert.deepEqual(await scoreHeatmaps(heatmaps, truth, { setting, metrics: 'all', pool, chunkSize: 2 }), single);
    assert.deepEqual(await scoreHeatmaps(heatmaps, truth, { setting, metrics: 'all', pool, chunkSize: 2 }), single);
    const other = batch(5, 9);
    assert.deepEqual(await scoreHeatmaps(other.heatmaps, other.truth, { setting, pool }), await scoreHeatmaps(other.heatmaps, other.truth, { setting }));
  } finally {
    await pool.destroy();
  }
});

test('shape and count mismatches and NaN are user errors; findNonFiniteSamples lists every bad sample', async () => {
  const { heatmaps, truth } = batch(4, 2);
  const setting = presetSetting('v2');
  await assert.rejects(scoreHeatmaps(heatmaps, { ...truth, n: 3, bands: truth.bands.subarray(0, 360) }, { setting }), /4 heatmaps but 3 ground-truth maps/);
  await assert.rejects(scoreHeatmaps(heatmaps, { ...truth, height: 10, width: 12 }, { setting }), /12×10 but the ground truth is 10×12/);
  heatmaps.data[2 * 360 + 5] = NaN;
  heatmaps.data[3 * 360 + 100] = -Infinity;
  assert.deepEqual(findNonFiniteSamples(heatmaps), [2, 3]);
  await assert.rejects(scoreHeatmaps(heatmaps, truth, { setting }), (e: Error) => e instanceof UserError && /heatmap 2 /.test(e.message));
  await assert.rejects(scoreHeatmaps(heatmaps, truth, { setting, workers: 2, chunkSize: 1 }), (e: Error) => e instanceof UserError && /heatmap [23] /.test(e.message));
});
