import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
// The chained methods' types (initBackend registers the methods themselves).
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { assertClose, randomValues, runOn } from './compare.js';

type T4 = tf.Tensor4D;
const SHAPE: [number, number, number, number] = [2, 5, 6, 3];
/** A [3, 3, ci, co] filter cut from y's values. */
const filterOf = (y: T4, ci: number, co: number) => tf.reshape(tf.slice(tf.reshape(y, [180]), 0, 9 * ci * co), [3, 3, ci, co]) as T4;

/** Every differentiable op a model, loss or attribution method here may use; x, y ~ N(0, 1), p > 0. */
const OPS: Record<string, (x: T4, y: T4, p: T4) => tf.Tensor> = {
  abs: (x) => tf.abs(x), sigmoid: (x) => tf.sigmoid(x), tanh: (x) => tf.tanh(x), elu: (x) => tf.elu(x), selu: (x) => tf.selu(x),
  exp: (x) => tf.exp(x), log: (_x, _y, p) => tf.log(p), sqrt: (_x, _y, p) => tf.sqrt(p), rsqrt: (_x, _y, p) => tf.rsqrt(p),
  square: (x) => tf.square(x), softplus: (x) => tf.softplus(x), relu6: (x) => tf.relu6(tf.mul(x, 4)),
  clipByValue: (x) => tf.clipByValue(x, -0.5, 0.5), logSoftmax: (x) => tf.logSoftmax(x), softmax: (x) => tf.softmax(x),
  log1p: (_x, _y, p) => tf.log1p(p), reciprocal: (_x, _y, p) => tf.reciprocal(p), erf: (x) => tf.erf(x),
  prelu: (x) => tf.prelu(x, tf.fill([1, 1, 1, 3], 0.2) as T4), max: (x) => tf.max(x, [1, 2]), min: (x) => tf.min(x, 3), prod: (x) => tf.prod(x, 3),
  logSumExp: (x) => tf.logSumExp(x, 3), cumsum: (x) => tf.cumsum(x, 1), pow: (x, _y, p) => tf.pow(p, x),
  maximum: (x, y) => tf.maximum(x, y), minimumBroadcast: (x, y) => tf.minimum(x, tf.slice(y, 0, [1, 5, 6, 3])),
  squaredDifference: (x, y) => tf.squaredDifference(x, y), div: (x, _y, p) => tf.div(x, p), tile: (x) => tf.tile(x, [1, 2, 1, 2]),
  mirrorPad: (x) => tf.mirrorPad(x, [[0, 0], [1, 1], [2, 2], [0, 0]], 'reflect'), stack: (x, y) => tf.stack([x, y], 1),
  unstack: (x) => tf.mul(tf.unstack(x, 1)[2]!, 3), reverse: (x) => tf.reverse(x, [1, 2]),
  whereGreater: (x, y) => tf.where(tf.greater(x, y), x, tf.mul(y, 2)),
  spaceToBatch: (x) => tf.spaceToBatchND(tf.slice(x, 0, [2, 4, 6, 3]), [2, 2], [[0, 0], [0, 0]]),
  batchToSpace: (x) => tf.batchToSpaceND(tf.reshape(tf.slice(x, 0, [2, 4, 6, 3]), [8, 2, 3, 3]), [2, 2], [[0, 0], [0, 0]]),
  resizeBilinearAlignCorners: (x) => tf.image.resizeBilinear(x, [9, 11], true),
  resizeBilinearHalfPixel: (x) => tf.image.resizeBilinear(x, [9, 4], false, true),
  resizeNearest: (x) => tf.image.resizeNearestNeighbor(x, [9, 11]),
  batchNorm: (x, y) => tf.batchNorm(x, tf.mean(y, [0, 1, 2]), tf.add(tf.mean(tf.square(y), [0, 1, 2]), 0.1), tf.fill([3], 0.5), tf.fill([3], 2), 1e-3),
  moments: (x) => tf.moments(x, [0, 1, 2]).variance, lrn: (x) => tf.localResponseNormalization(x, 2, 1, 1e-2, 0.75),
  fusedConvRelu: (x, y) => tf.fused.conv2d({ x, filter: filterOf(y, 3, 4), strides: 1, pad: 'same', bias: tf.fill([4], 0.1), activation: 'relu' }),
  fusedConvLeaky: (x, y) => tf.fused.conv2d({ x, filter: filterOf(y, 3, 4), strides: 2, pad: 'valid', bias: tf.fill([4], 0.1), activation: 'leakyrelu', leakyreluAlpha: 0.01 }),
  fusedMatMul: (x, y) => tf.fused.matMul({ a: tf.reshape(x, [10, 18]), b: tf.reshape(y, [18, 10]), bias: tf.fill([10], 0.1), activation: 'relu' }),
  depthwise: (x, y) => tf.depthwiseConv2d(x, filterOf(y, 3, 2), 2, 'same'),
  separable: (x, y) => tf.separableConv2d(x, filterOf(y, 3, 1), tf.fill([1, 1, 3, 4], 0.3) as T4, 1, 'valid'),
  dilatedConvRows: (x, y) => tf.conv2d(x, filterOf(y, 3, 4), 1, 'same', 'NHWC', [2, 1]),
  conv1d: (x, y) => tf.conv1d(tf.reshape(x, [2, 30, 3]) as tf.Tensor3D, tf.reshape(tf.slice(tf.reshape(y, [180]), 0, 81), [3, 3, 9]) as tf.Tensor3D, 2, 'same'),
  maxPoolSame: (x) => tf.maxPool(x, 2, 1, 'same'), avgPoolSame: (x) => tf.avgPool(x, 3, 2, 'same'), pool: (x) => tf.pool(x, 2, 'max', 'valid', 1, 2),
  sigmoidCrossEntropy: (x, y) => tf.losses.sigmoidCrossEntropy(tf.sigmoid(y), x), meanSquaredError: (x, y) => tf.losses.meanSquaredError(y, x),
  huber: (x, y) => tf.losses.huberLoss(y, x), logLoss: (x, y) => tf.losses.logLoss(tf.sigmoid(y), tf.sigmoid(x)),
  norm: (x) => tf.norm(x), euclideanNorm: (x) => tf.norm(x, 'euclidean', 3), sign: (x) => tf.mul(tf.sign(x), x),
  round: (x) => tf.add(tf.round(x), x), atan2: (x, y) => tf.atan2(x, y), mod: (x, _y, p) => tf.mod(x, p),
  sumKeepDims: (x) => tf.sum(x, [0, 3], true), mean: (x) => tf.mean(x, 1),
  oneHotArgMax: (x) => tf.mul(tf.oneHot(tf.argMax(tf.reshape(x, [60, 3]), 1), 3), tf.reshape(x, [60, 3])),
  concat: (x, y) => tf.concat([x, y, x], 3), split: (x) => tf.split(x, [1, 2], 3)[1]!,
  batchMatMul: (x, y) => tf.matMul(tf.reshape(x, [2, 15, 6]) as tf.Tensor3D, tf.reshape(y, [2, 15, 6]) as tf.Tensor3D, true, false),
  chainedMethods: (x) => x.reshape([10, 18]).transpose().mul(2),
};

test('gradients of every op the project uses agree, wasm vs cpu', async () => {
  const values = ['x', 'y', 'p'].map((k) => randomValues(`ops/${k}`, SHAPE));
  values[2] = values[2]!.map((v) => Math.abs(v) + 0.1);
  const weights = randomValues('ops/weights', [4096]);
  for (const [name, op] of Object.entries(OPS)) {
    const build = () => {
      const [x, y, p] = values.map((v) => tf.tensor4d(v, SHAPE)) as [T4, T4, T4];
      return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
        const out = op(a as T4, b as T4, c as T4);
        const w = tf.reshape(tf.slice(tf.tensor1d(weights), 0, out.size), out.shape);
        // Every input joins the sum so each has a gradient, even where the op ignores it.
        return tf.add(tf.sum(tf.mul(out, w)), tf.mul(tf.addN([tf.sum(a), tf.sum(b), tf.sum(c)]), 0));
      })([x, y, p]);
    };
    const expected = await runOn('cpu', build);
    const actual = await runOn('wasm', build);
    expected.forEach((e, i) => assertClose(actual[i]!, e, 1e-3, `${name}: d/d input ${i}`));
  }
});

test('fixed gradients: cumsum along an inner axis, broadcast minimum, masks built from comparisons', async () => {
  const [n, h, w, c] = SHAPE;
  const xv = randomValues('fix/x', SHAPE);
  const yv = randomValues('fix/y', [1, h, w, c]);
  const r = randomValues('fix/r', SHAPE);
  for (const backend of ['cpu', 'wasm'] as const) {
    const [dCumsum, dMinA, dMinB, dWhere] = await runOn(backend, () => {
      const x = tf.tensor4d(xv, SHAPE);
      const y = tf.tensor4d(yv, [1, h, w, c]);
      const weights = tf.tensor4d(r, SHAPE);
      const [gMinA, gMinB] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.minimum(a, b), weights)))([x, y]);
      return [
        tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.cumsum(a, 1), weights)))(x),
        gMinA!, gMinB!,
        tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.where(tf.greater(a, 0), a, tf.mul(a, 3)), weights)))(x),
      ];
    });
    const at = (b: number, i: number, j: number, k: number) => ((b * h + i) * w + j) * c + k;
    const cumsumRef = new Float32Array(xv.length);
    const minA = new Float32Array(xv.length);
    const minB = new Float32Array(yv.length);
    const whereRef = new Float32Array(xv.length);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          for (let k = 0; k < c; k++) {
            for (let i2 = i; i2 < h; i2++) cumsumRef[at(b, i, j, k)] += r[at(b, i2, j, k)]!;
            const aWins = xv[at(b, i, j, k)]! <= yv[at(0, i, j, k)]!;
            minA[at(b, i, j, k)] = aWins ? r[at(b, i, j, k)]! : 0;
            if (!aWins) minB[at(0, i, j, k)] += r[at(b, i, j, k)]!;
            whereRef[at(b, i, j, k)] = r[at(b, i, j, k)]! * (xv[at(b, i, j, k)]! > 0 ? 1 : 3);
          }
        }
      }
    }
    assertClose(dCumsum!, cumsumRef, 1e-5, `${backend} cumsum`);
    assertClose(dMinA!, minA, 1e-6, `${backend} minimum a`);
    assertClose(dMinB!, minB, 1e-5, `${backend} minimum b (broadcast)`);
    assertClose(dWhere!, whereRef, 1e-6, `${backend} where(greater)`);
  }
});
