import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { resolveMethods, getMethod } from '../../src/attribution/index.js';
import { groundTruth, nullBlob, nullEdges, nullGaussian, nullUniform } from '../../src/attribution/null-explainers.js';
import { createModel, type Model } from '../../src/nn/index.js';
import { FivebandScorer, PRESETS, toTruthBands } from '../../src/scoring/index.js';
import { randomImages, useCpu } from '../nn/helpers.js';

let model: Model;
before(async () => {
  await useCpu();
  model = createModel({ arch: 'alexnet', inputSize: 64, numClasses: 10, width: 0.0625 }, 1);
});

/** The model only fixes the size: a stand-in with the input size the nulls read. */
const sized = (size: number): Model => ({ ...model, spec: { ...model.spec, inputSize: size } }) as Model;

describe('null explainers', () => {
  it('are listed by `nulls`, not by `all`, and each by name', () => {
    assert.deepEqual(resolveMethods('nulls').map((m) => m.name), ['NullUniform', 'NullGaussian', 'NullEdges', 'NullBlob', 'GroundTruth']);
    assert.ok(!resolveMethods('all').some((m) => m.name.startsWith('Null')));
    assert.ok(!resolveMethods('all').some((m) => m.name === 'GroundTruth'));
    assert.equal(resolveMethods('all,nulls').length, resolveMethods('all').length + 5);
    assert.equal(getMethod('nulledges'), nullEdges);
  });

  it('noise is seeded per sample key: the same map alone or in a batch, another with another seed', () => {
    const images = randomImages(3, 64);
    for (const method of [nullUniform, nullGaussian]) {
      const batch = method.attribute(model, images, undefined, { seed: 5, sampleKeys: ['a', 'b', 'c'] });
      assert.deepEqual(batch.shape, [3, 1, 64, 64]);
      const alone = method.attribute(model, tf.slice(images, [1], [1]), undefined, { seed: 5, sampleKeys: ['b'] });
      assert.deepEqual(alone.data, batch.data.subarray(64 * 64, 2 * 64 * 64));
      const other = method.attribute(model, tf.slice(images, [1], [1]), undefined, { seed: 6, sampleKeys: ['b'] });
      assert.notDeepEqual(other.data, alone.data);
    }
    images.dispose();
  });

  it('uniform noise lies in [0, 1) with mean 1/2; Gaussian noise has mean 0 and sd 1', () => {
    const images = randomImages(4, 64);
    const u = nullUniform.attribute(model, images, undefined).data;
    const g = nullGaussian.attribute(model, images, undefined).data;
    assert.ok(u.every((v) => v >= 0 && v < 1));
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(Math.abs(mean(u) - 0.5) < 0.01);
    assert.ok(Math.abs(mean(g)) < 0.02);
    assert.ok(Math.abs(Math.sqrt(mean(g.map((v) => v * v))) - 1) < 0.02);
    images.dispose();
  });

  it('edges: the Sobel magnitude of the grey image, by hand on a step and zero on a flat image', () => {
    const size = 5;
    // Left two columns black, the rest white: |gx| = 4 (1 + 2 + 1) on columns 1 and 2, 0 elsewhere.
    const pixels = new Float32Array(size * size * 3).map((_, k) => (Math.floor(k / 3) % size >= 2 ? 1 : 0));
    const step = tf.tensor4d(pixels, [1, size, size, 3]);
    const map = nullEdges.attribute(sized(size), step, undefined).data;
    for (let y = 0; y < size; y++) assert.deepEqual(Array.from(map.subarray(y * size, (y + 1) * size)), [0, 4, 4, 0, 0]);
    const flat = tf.fill([1, size, size, 3], 0.3) as tf.Tensor4D;
    assert.ok(nullEdges.attribute(sized(size), flat, undefined).data.every((v) => Math.abs(v) < 1e-6));
    tf.dispose([step, flat]);
  });

  it('blob: 1 at the centre, exp(-1/2) one σ = N/6 away, the same for every image', () => {
    const size = 61;
    const images = randomImages(2, size);
    const map = nullBlob.attribute(sized(size), images, undefined).data;
    assert.equal(map[30 * size + 30], 1);
    assert.ok(Math.abs(map[30 * size + 30 + 10]! - Math.exp(-0.5 * (10 / (size / 6)) ** 2)) < 1e-6);
    assert.deepEqual(map.subarray(0, size * size), map.subarray(size * size));
    images.dispose();
  });

  it('uniform noise scores what chance predicts on a truth of band 2 everywhere (v1, first threshold set)', () => {
    // After dividing by its max (≈ 1) the noise is band 2 above 0.5 (TP), band 1 in (0.3, 0.5] (a wrong non-zero
    // band: FP) and band 0 below (FN): R = 0.5 / 0.8, P = 0.5 / 0.7, A = 0.5.
    const size = 256;
    const map = nullUniform.attribute(sized(size), tf.zeros([1, size, size, 3]) as tf.Tensor4D, undefined, { seed: 1 }).data;
    const truth = toTruthBands(new Float32Array(size * size).fill(0.9));
    const scores = new FivebandScorer(PRESETS.v1!, size, size).score(map, 0, 1, truth);
    assert.ok(Math.abs(scores.R[0]! - 0.625) < 0.01, `R ${scores.R[0]}`);
    assert.ok(Math.abs(scores.P[0]! - 0.5 / 0.7) < 0.01, `P ${scores.P[0]}`);
    assert.ok(Math.abs(scores.A[0]! - 0.5) < 0.01, `A ${scores.A[0]}`);
  });

  it('GroundTruth returns the truth it is given, per sample, and scores perfectly at the first v1 threshold set', () => {
    const size = 16;
    // Two samples: a square of band 2 inside a ring of band 1 on band 0, and its transpose-free shift.
    const truth = new Float32Array(2 * size * size);
    for (let i = 0; i < 2; i++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const d = Math.max(Math.abs(y - 6 - i), Math.abs(x - 7));
          truth[i * size * size + y * size + x] = d <= 2 ? 0.9 : d <= 4 ? 0.4 : 0;
        }
      }
    }
    const images = randomImages(2, size);
    const map = groundTruth.attribute(sized(size), images, undefined, { truth });
    assert.deepEqual(map.shape, [2, 1, size, size]);
    assert.deepEqual(map.data, truth);
    const one = groundTruth.attribute(sized(size), tf.slice(images, [1], [1]), undefined, { truth: truth.subarray(size * size) });
    assert.deepEqual(one.data, truth.subarray(size * size));
    // v1 divides by the max (0.9): 0.4 → 0.44 is band 1 and 1 is band 2 at [-0.5, -0.3, 0.3, 0.5]: every pixel right.
    const scores = new FivebandScorer(PRESETS.v1!, size, size).score(map.data.subarray(0, size * size), 0, 1, toTruthBands(truth.subarray(0, size * size)));
    assert.ok(Math.abs(scores.R[0]! - 1) < 1e-6 && Math.abs(scores.P[0]! - 1) < 1e-6, `R ${scores.R[0]}, P ${scores.P[0]}`);
    assert.throws(() => groundTruth.attribute(sized(size), images, undefined), /GroundTruth needs the samples' ground truth/);
    images.dispose();
  });
});
