import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DOMINATED_SHARE, MOVE_TOLERANCE, oneUlpPerturbation, runConditioning } from '../../src/attribution/index.js';
import { generateDataset } from '../../src/data/index.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { useCpu } from '../nn/helpers.js';

let root: string;
before(async () => {
  await useCpu();
  root = await mkdtemp(join(tmpdir(), 'fiveband-conditioning-'));
  await generateDataset({ out: join(root, 'data'), size: 64, seed: 4, shards: { train: 0, val: 0, test: 1 }, perShard: 3, workers: 1 });
  const model = createModel({ arch: 'alexnet', inputSize: 64, numClasses: 10, width: 0.0625 }, 3);
  await saveModel(join(root, 'model'), model);
  model.dispose();
});

/** The float32 bit pattern of v, as a signed integer (adjacent floats of one sign differ by 1). */
const bitsOf = (v: number) => new Int32Array(new Float32Array([v]).buffer)[0]!;

describe('conditioning', () => {
  it('one ulp: every value moves to an adjacent float32, up or down by a seeded draw', () => {
    const values = Float32Array.from([0, 1, 0.5, 0.25, 1e-3, 0.7, 0, 0.3]);
    const moved = oneUlpPerturbation(values, 7);
    values.forEach((v, i) => {
      const m = moved[i]!;
      assert.notEqual(m, v);
      if (v === 0) assert.equal(Math.abs(m), 2 ** -149, 'the smallest subnormal');
      else assert.equal(Math.abs(bitsOf(m) - bitsOf(v)), 1, `${v} → ${m}`);
    });
    assert.ok(values.some((v, i) => moved[i]! > v) && values.some((v, i) => moved[i]! < v), 'both directions drawn');
    assert.deepEqual(oneUlpPerturbation(values, 7), moved);
    assert.notDeepEqual(oneUlpPerturbation(values, 8), moved);
  });

  it('maps of input-free references never move; a gradient map does under one ulp; the verdict follows the rows; reruns are byte-identical', async () => {
    const run = (out: string) => runConditioning({
      modelDir: join(root, 'model'), dataDir: join(root, 'data'), out, methods: 'InputXGradient,NullBlob,GroundTruth', limit: 3, backend: 'cpu',
    });
    const result = await run(join(root, 'a'));
    assert.deepEqual(result.rows.map((r) => `${r.method}/${r.perturbation}`), [
      'InputXGradient/one-ulp', 'InputXGradient/batch-1', 'NullBlob/one-ulp', 'NullBlob/batch-1', 'GroundTruth/one-ulp', 'GroundTruth/batch-1']);
    for (const row of result.rows.filter((r) => r.method !== 'InputXGradient')) {
      assert.deepEqual([row.map_rel_l2_max, row.rmu_change_max, row.pmu_change_max, row.rmu_moved, row.pmu_moved], [0, 0, 0, 0, 0], row.method);
    }
    // x · ∂y/∂x moves with x itself: never by nothing, never by more than the map.
    const ulp = result.rows[0]!;
    assert.ok(ulp.map_rel_l2_median > 0 && ulp.map_rel_l2_max <= 1, `${ulp.map_rel_l2_median} … ${ulp.map_rel_l2_max}`);
    for (const row of result.rows) assert.ok(row.rmu_moved >= 0 && row.rmu_moved <= 1 && row.pmu_moved >= 0 && row.pmu_moved <= 1);
    assert.deepEqual(result.dominated, [...new Set(result.rows.filter((r) => r.rmu_moved > DOMINATED_SHARE || r.pmu_moved > DOMINATED_SHARE).map((r) => r.method))]);
    assert.equal(result.tolerance, MOVE_TOLERANCE);
    const csv = (await readFile(join(root, 'a', 'conditioning.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv[0], 'method,perturbation,preset,samples,map_rel_l2_median,map_rel_l2_max,rmu_change_max,pmu_change_max,rmu_moved,pmu_moved');
    assert.equal(csv.length, 7);
    await run(join(root, 'b'));
    for (const file of ['conditioning.csv', 'conditioning.json']) {
      const [a, b] = await Promise.all([readFile(join(root, 'a', file), 'utf8'), readFile(join(root, 'b', file), 'utf8')]);
      assert.equal(a.replace(/"model": .*\n/, ''), b.replace(/"model": .*\n/, ''), file);
    }
  });
});
