import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_GRAD, batchNormTrainingOp, initBackend } from '../../src/compute/index.js';
import { assertClose, randomValues, runOn } from './compare.js';

const EPS = 1e-5;
// Channels a multiple of 4 take the wasm SIMD path; 2×40×40×8 spans several of its row blocks (1,024 rows at 8 channels).
const SHAPES: number[][] = [[4, 5, 6, 3], [2, 7, 7, 16], [3, 4, 4, 1], [9, 10], [2, 40, 40, 8]];

/** Per-channel statistics in float64, written independently of the kernels (channels = last axis). */
function reference(x: Float32Array, channels: number): { mean: number[]; variance: number[] } {
  const rows = x.length / channels;
  const mean = Array.from({ length: channels }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * channels + c]!;
    return s / rows;
  });
  const variance = mean.map((m, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += (x[r * channels + c]! - m) ** 2;
    return s / rows;
  });
  return { mean, variance };
}

for (const shape of SHAPES) {
  for (const backend of ['wasm', 'cpu'] as const) {
    test(`fused training BatchNorm forward on ${backend}, ${shape.join('×')}: batch mean, biased variance, normalised output`, async () => {
      const channels = shape[shape.length - 1]!;
      // An offset mean (3) so a one-pass variance would show cancellation if it were done in float32.
      const x = randomValues(`bn/x/${shape}`, shape, 2, 3);
      const g = randomValues(`bn/g/${shape}`, [channels], 0.5, 1);
      const b = randomValues(`bn/b/${shape}`, [channels]);
      const [y, mean, variance] = await runOn(backend, () => {
        const out = batchNormTrainingOp(tf.tensor(x, shape), tf.tensor1d(g), tf.tensor1d(b), EPS);
        return [out.y, out.mean, out.variance];
      });
      const ref = reference(x, channels);
      assertClose(mean!, Float32Array.from(ref.mean), 1e-6, 'mean');
      assertClose(variance!, Float32Array.from(ref.variance), 1e-6, 'variance');
      const expected = x.map((v, i) => {
        const c = i % channels;
        return ((v - ref.mean[c]!) / Math.sqrt(ref.variance[c]! + EPS)) * g[c]! + b[c]!;
      });
      assertClose(y!, expected, 1e-5, 'y');
    });
  }
}

/** The same loss through the fused op and through plain tfjs ops (autodiff), gradients w.r.t. x, γ, β. */
for (const backend of ['wasm', 'cpu'] as const) {
  for (const shape of [[3, 5, 4, 6], [2, 24, 24, 8]]) test(`fused training BatchNorm gradient = autodiff of the formula on ${backend}, ${shape.join('×')}`, async () => {
    const channels = shape[3]!;
    const x = tf.tensor(randomValues('bng/x', shape, 1.5, 0.5), shape);
    const w = tf.tensor(randomValues('bng/w', shape), shape);
    const g = tf.tensor1d(randomValues('bng/g', [channels], 0.5, 1)), b = tf.tensor1d(randomValues('bng/b', [channels]));
    const loss = (fused: boolean) => (xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor): tf.Scalar => {
      let y: tf.Tensor;
      if (fused) y = batchNormTrainingOp(xs, gs, bs, EPS).y;
      else {
        const { mean, variance } = tf.moments(xs, [0, 1, 2]);
        y = tf.add(tf.mul(tf.div(tf.sub(xs, mean), tf.sqrt(tf.add(variance, EPS))), gs), bs);
      }
      return tf.sum(tf.mul(tf.square(y), w));
    };
    const ours = await runOn(backend, () => tf.grads(loss(true))([x, g, b]));
    const plain = await runOn(backend, () => tf.grads(loss(false))([x, g, b]));
    ['dx', 'dγ', 'dβ'].forEach((name, i) => assertClose(ours[i]!, plain[i]!, 2e-4, name));
  });

  test(`eval-mode (FusedBatchNorm) gradient w.r.t. x, mean, variance, scale and offset = autodiff of the formula on ${backend}`, async () => {
    const shape = [2, 4, 3, 5];
    const inputs = [
      tf.tensor(randomValues('bne/x', shape), shape),
      tf.tensor1d(randomValues('bne/m', [5])),
      tf.tensor1d(randomValues('bne/v', [5], 0.2, 1)),
      tf.tensor1d(randomValues('bne/g', [5], 0.5, 1)),
      tf.tensor1d(randomValues('bne/b', [5])),
    ];
    const w = tf.tensor(randomValues('bne/w', shape), shape);
    const ours = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.square(tf.batchNorm(x, m, v, b, g, EPS)), w));
    const plain = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.square(tf.add(tf.mul(tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, EPS))), g), b)), w));
    const a = await runOn(backend, () => tf.grads(ours)(inputs));
    const e = await runOn(backend, () => tf.grads(plain)(inputs));
    ['dx', 'dmean', 'dvariance', 'dscale', 'doffset'].forEach((name, i) => assertClose(a[i]!, e[i]!, 1e-4, name));
  });
}

test('BatchNorm gradient kernel: wasm = cpu for batch and fixed statistics', async () => {
  const shape = [4, 6, 6, 8];
  const values = ['dy', 'x'].map((n) => randomValues(`bnk/${n}`, shape));
  const stats = [randomValues('bnk/m', [8]), randomValues('bnk/v', [8], 0.3, 1), randomValues('bnk/g', [8])];
  for (const batchStatistics of [true, false]) {
    const run = () => tf.engine().runKernel(BATCH_NORM_GRAD, {
      dy: tf.tensor(values[0]!, shape), x: tf.tensor(values[1]!, shape),
      mean: tf.tensor1d(stats[0]!), variance: tf.tensor1d(stats[1]!), scale: tf.tensor1d(stats[2]!),
    }, { varianceEpsilon: EPS, batchStatistics }) as tf.Tensor[];
    const cpu = await runOn('cpu', run);
    const wasm = await runOn('wasm', run);
    cpu.forEach((c, i) => assertClose(wasm[i]!, c, 1e-5, `batchStatistics ${batchStatistics} output ${i}`));
  }
});

test('fused training BatchNorm refuses a scale or offset that is not one value per channel', async () => {
  await initBackend('cpu');
  assert.throws(() => batchNormTrainingOp(tf.zeros([2, 3, 3, 4]), tf.ones([3]), tf.zeros([4]), EPS), /scale and offset of 4 values/);
  assert.throws(() => batchNormTrainingOp(tf.zeros([2, 3, 3, 4]), tf.ones([4]), tf.zeros([1]), EPS), /scale and offset of 4 values/);
});

test('wasm Identity (clone) shares memory: no copy, the clone outlives its source', async () => {
  await initBackend('wasm');
  const before = tf.backend().numDataIds();
  const a = tf.tensor1d([1, 2, 3]);
  const b = tf.clone(a);
  assert.equal(tf.backend().numDataIds() - before, 1, 'one buffer for both tensors');
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
  b.dispose();
  assert.equal(tf.backend().numDataIds(), before);
});
