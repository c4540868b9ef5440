import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/compute/index.js';
import { FAST_BACKENDS, assertClose, nativeBuilt, randomValues, runOn } from './compare.js';

/** Parameter shapes of a small CNN that uses every op the project's models and attribution methods need. */
const PARAM_SHAPES: Record<string, number[]> = {
  conv1: [3, 3, 3, 4], bnGamma: [4], bnBeta: [4], // no bias before batch-norm: its gradient is rounding noise, which Adam would amplify
  conv2: [3, 3, 4, 6], conv2Bias: [6],
  dilated: [3, 3, 6, 6],
  head1x1: [1, 1, 6, 8],
  deconv: [3, 3, 3, 6], deconvBias: [3],
  dense: [16 + 31 * 8 + 8, 5], denseBias: [5],
};
const NAMES = Object.keys(PARAM_SHAPES);
const BATCH = 3;
const SIZE = 15;

function paramValues(): Float32Array[] {
  return NAMES.map((name) => randomValues(`param/${name}`, PARAM_SHAPES[name]!, 0.3));
}

/**
 * conv s1 same → batch-norm (moments) → relu → maxPool 3/2 → conv s2 explicit pad → leakyRelu → dilated conv
 * → leakyRelu; heads: (a) product attention (split channels, A·Bᵀ, softmax) + global average pool → dense →
 * softmax cross-entropy; (b) conv2dTranspose s2 → bilinear resize → per-pixel 3-band cross-entropy.
 */
function loss(params: tf.Tensor[], x: tf.Tensor4D, labels: tf.Tensor2D, bands: tf.Tensor4D): tf.Scalar {
  const p = Object.fromEntries(NAMES.map((name, i) => [name, params[i]!])) as Record<string, tf.Tensor>;
  let h = tf.conv2d(x, p.conv1 as tf.Tensor4D, 1, 'same');
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  h = tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), p.bnGamma!), p.bnBeta!) as tf.Tensor4D;
  h = tf.maxPool(tf.relu(h), 3, 2, 'valid'); // 7×7
  h = tf.leakyRelu(tf.add(tf.conv2d(h, p.conv2 as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]), p.conv2Bias!), 0.01) as tf.Tensor4D; // 4×4
  h = tf.leakyRelu(tf.conv2d(h, p.dilated as tf.Tensor4D, 1, 2, 'NHWC', 2), 0.01);
  const features = tf.conv2d(tf.avgPool(tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 1, 'valid'), p.head1x1 as tf.Tensor4D, 1, 'valid');

  const [a, b] = tf.split(tf.reshape(features, [BATCH, 16, 8]), 2, 2);
  const attention = tf.softmax(tf.div(tf.matMul(tf.transpose(a!, [0, 2, 1]), tf.transpose(b!, [0, 2, 1]), false, true), 2));
  const pooled = tf.mean(features, [1, 2]);
  const flat = tf.concat([tf.reshape(attention, [BATCH, 16]), tf.reshape(tf.tile(tf.expandDims(pooled, 1), [1, 31, 1]), [BATCH, 248]), pooled], 1);
  const logits = tf.add(tf.matMul(tf.dropout(flat, 0.25, undefined, 11), p.dense as tf.Tensor2D), p.denseBias!);
  const classLoss = tf.losses.softmaxCrossEntropy(labels, logits);

  const up = tf.add(tf.conv2dTranspose(h, p.deconv as tf.Tensor4D, [BATCH, 9, 9, 3], 2, 'valid'), p.deconvBias!) as tf.Tensor4D;
  const heat = tf.image.resizeBilinear(up, [SIZE, SIZE], false, true);
  const bandLoss = tf.losses.softmaxCrossEntropy(tf.reshape(bands, [-1, 3]), tf.reshape(heat, [-1, 3]));
  return tf.add(classLoss, tf.mul(bandLoss, 5)) as tf.Scalar;
}

function inputs(): { x: tf.Tensor4D; labels: tf.Tensor2D; bands: tf.Tensor4D } {
  const x = tf.tensor4d(randomValues('x', [BATCH, SIZE, SIZE, 3]), [BATCH, SIZE, SIZE, 3]);
  const labels = tf.oneHot(tf.tensor1d([0, 3, 4], 'int32'), 5) as tf.Tensor2D;
  const bandIds = Int32Array.from(randomValues('bands', [BATCH * SIZE * SIZE]), (v) => (v < -0.5 ? 0 : v < 0.5 ? 1 : 2));
  const bands = tf.reshape(tf.oneHot(tf.tensor1d(bandIds, 'int32'), 3), [BATCH, SIZE, SIZE, 3]) as tf.Tensor4D;
  return { x, labels, bands };
}

for (const { name: backend, options } of FAST_BACKENDS) test(`training step: loss and the gradients of every parameter and of the input agree, ${backend} vs cpu`, options, async () => {
  const values = paramValues();
  const build = () => {
    const { x, labels, bands } = inputs();
    const params = values.map((v, i) => tf.tensor(v, PARAM_SHAPES[NAMES[i]!]));
    const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => loss(ts.slice(1), ts[0] as tf.Tensor4D, labels, bands))([x, ...params]);
    return [value, ...grads];
  };
  const expected = await runOn('cpu', build);
  const actual = await runOn(backend, build);
  assertClose(actual[0]!, expected[0]!, 1e-4, 'loss');
  assertClose(actual[1]!, expected[1]!, 2e-3, 'd loss / d input');
  NAMES.forEach((name, i) => assertClose(actual[i + 2]!, expected[i + 2]!, 2e-3, `d loss / d ${name}`));
});

for (const { name: fast, options } of FAST_BACKENDS) test(`Adam steps give the same weights on ${fast} and cpu, and tensor memory does not grow across steps`, options, async () => {
  const values = paramValues();
  const train = async (backend: 'wasm' | 'native' | 'cpu'): Promise<Float32Array[]> => {
    await initBackend(backend);
    const { x, labels, bands } = tf.tidy(inputs);
    const vars = values.map((v, i) => {
      const initial = tf.tensor(v, PARAM_SHAPES[NAMES[i]!]);
      const variable = tf.variable(initial, true, `${backend}/${NAMES[i]}`);
      initial.dispose();
      return variable;
    });
    const optimizer = tf.train.adam(0.01);
    const step = () => tf.dispose(optimizer.minimize(() => loss(vars, x, labels, bands), true, vars) ?? []);
    step(); // Adam creates its moment estimates on the first step.
    const before = tf.memory();
    for (let i = 0; i < 3; i++) step();
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors, `${backend}: tensors after 3 more steps`);
    assert.equal(after.numBytes, before.numBytes, `${backend}: bytes after 3 more steps`);
    const weights = await Promise.all(vars.map((v) => v.data() as Promise<Float32Array>));
    optimizer.dispose();
    tf.dispose([...vars, x, labels, bands]);
    return weights;
  };
  const start = tf.memory().numTensors;
  const expected = await train('cpu');
  const actual = await train(fast);
  NAMES.forEach((name, i) => assertClose(actual[i]!, expected[i]!, 1e-3, `${name} after 4 Adam steps`));
  assert.equal(tf.memory().numTensors, start, 'everything disposed');
});

test('gradient of a dilated convolution equals that of the equivalent zero-spread dense filter', async () => {
  const xShape = [2, 9, 8, 3];
  const w = randomValues('dil-grad/w', [3, 3, 3, 2]);
  const xv = randomValues('dil-grad/x', xShape);
  const r = randomValues('dil-grad/r', [2, 9, 8, 2]);
  const spread = new Float32Array(5 * 5 * 6);
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let k = 0; k < 6; k++) spread[(a * 2 * 5 + b * 2) * 6 + k] = w[(a * 3 + b) * 6 + k]!;
  for (const backend of ['cpu', 'wasm', ...(nativeBuilt ? ['native'] as const : [])] as const) {
    const [dxDilated, dwDilated] = await runOn(backend, () =>
      tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 2, 'NHWC', 2), tf.tensor(r, [2, 9, 8, 2]))))(
        [tf.tensor(xv, xShape), tf.tensor(w, [3, 3, 3, 2])]));
    const [dxDense, dwDense] = await runOn(backend, () =>
      tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 2), tf.tensor(r, [2, 9, 8, 2]))))(
        [tf.tensor(xv, xShape), tf.tensor(spread, [5, 5, 3, 2])]));
    assertClose(dxDilated!, dxDense!, 1e-4, `${backend} dx`);
    const taps = new Float32Array(w.length);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let k = 0; k < 6; k++) taps[(a * 3 + b) * 6 + k] = dwDense![(a * 2 * 5 + b * 2) * 6 + k]!;
    assertClose(dwDilated!, taps, 1e-4, `${backend} dW`);
  }
});

test('the wasm heap does not grow across repeated conv gradient steps (transient filters free their XNNPACK operators)', async () => {
  await initBackend('wasm');
  const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  const x = tf.tensor4d(randomValues('heap/x', [4, 32, 32, 16]), [4, 32, 32, 16]);
  const w = tf.tensor4d(randomValues('heap/w', [3, 3, 16, 32]), [3, 3, 16, 32]);
  const step = () => tf.tidy(() => {
    for (const g of tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([x, w])) g.dataSync();
  });
  for (let i = 0; i < 5; i++) step();
  const before = heapBytes();
  for (let i = 0; i < 60; i++) step();
  assert.equal(heapBytes(), before);
  tf.dispose([x, w]);
});
