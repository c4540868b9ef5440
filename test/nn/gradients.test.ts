import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, type ArchSpec, type Model } from '../../src/nn/index.js';
import { initBackend } from '../../src/compute/index.js';
import { TensorOps } from '../../src/nn/layers.js';
import { maxRelativeError, randomImages, SMALL, spec, useCpu } from './helpers.js';

await useCpu();

/** Cross-entropy on the logits (+ a heatmap term for SPA): the kind of loss training differentiates. */
function loss(model: Model, x: tf.Tensor4D, labels: tf.Tensor, training: boolean): tf.Scalar {
  const out = model.forward(x, { training, dropoutSeed: 5 });
  let value = tf.losses.softmaxCrossEntropy(labels, out.logits);
  if (out.heatmapLogits) value = tf.add(value, tf.mean(tf.square(out.heatmapLogits)));
  return value as tf.Scalar;
}

test('training gradients: every trainable parameter gets a finite, non-zero gradient; no tensors leak', () => {
  for (const s of SMALL) {
    const m = createModel(s, 4);
    const x = randomImages(2, s.inputSize);
    const labels = tf.oneHot(tf.tensor1d([1, 7], 'int32'), s.numClasses);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => loss(m, x, labels, true), [...m.trainable.values()]);
    assert.ok(Number.isFinite(value.dataSync()[0]!));
    const names = [...m.trainable.keys()];
    assert.equal(Object.keys(grads).length, names.length);
    Object.values(grads).forEach((g, i) => {
      const data = g.dataSync();
      assert.ok(data.every(Number.isFinite), `${s.arch} ${names[i]}`);
      assert.ok(data.some((v) => v !== 0), `${s.arch} ${names[i]}: zero gradient`);
    });
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before, `${s.arch}: tensors leaked`);
    tf.dispose([x, labels]);
    m.dispose();
  }
});

test('Grad-CAM pattern: gradient of a logit with respect to the first conv activation', () => {
  const m = createModel(spec('resnet34', 32, 10, 0.0625), 2);
  const x = randomImages(1, 32);
  const zero = tf.zeros([1, 16, 16, 4]);
  const g = tf.grad((z: tf.Tensor) => {
    const { logits } = m.forward(x, { taps: { [m.firstConv]: (a) => tf.add(a, z) } });
    return tf.sum(tf.slice(logits, [0, 3], [1, 1]));
  })(zero);
  assert.deepEqual(g.shape, [1, 16, 16, 4]);
  assert.ok(tf.sum(tf.abs(g)).dataSync()[0]! > 0);
  m.dispose();
});

interface Run { logits: Float32Array; trainLogits: Float32Array; paramGrads: Float32Array[]; inputGrad: Float32Array }

function runAll(m: Model, x: tf.Tensor4D, labels: tf.Tensor): Run {
  const logits = m.forward(x).logits.dataSync() as Float32Array;
  // Training-mode forward and gradients leave BN running statistics changed: compare from the same state.
  const buffers = [...m.buffers.values()].map((b) => tf.clone(b));
  const { grads } = tf.variableGrads(() => loss(m, x, labels, true), [...m.trainable.values()]);
  const trainLogits = m.forward(x, { training: true, dropoutSeed: 5 }).logits.dataSync() as Float32Array;
  [...m.buffers.values()].forEach((b, i) => b.assign(buffers[i]!));
  const inputGrad = tf.grad((t: tf.Tensor) => loss(m, t as tf.Tensor4D, labels, false))(x).dataSync() as Float32Array;
  return { logits, trainLogits, paramGrads: Object.values(grads).map((g) => g.dataSync() as Float32Array), inputGrad };
}

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Error relative to the reference tensor's largest magnitude (gradients span orders of magnitude), floored at
 * `floor`: a conv bias followed by training-mode BatchNorm has an exactly-zero gradient, seen as rounding noise.
 */
function scaledError(a: Float32Array, b: Float32Array, floor = 0): number {
  const scale = Math.max(maxAbs(b), floor) || 1;
  return maxRelativeError(a.map((v) => v / scale), b.map((v) => v / scale));
}

/**
 * ResNet at 64 rather than 32: at 32 its last BatchNorms see 2 values per channel, where training-mode
 * normalisation amplifies float32 rounding differences between backends to ~0.3 % of the gradients.
 */
const WASM_CASES: ArchSpec[] = SMALL.map((s) => (s.arch === 'resnet34' ? { ...s, inputSize: 64 } : s));

test('wasm agrees with cpu on every model: forward (eval, training) and gradients', async () => {
  for (const s of WASM_CASES) {
    const m = createModel(s, 8);
    const x = randomImages(2, s.inputSize, 3);
    const labels = tf.oneHot(tf.tensor1d([2, 5], 'int32'), s.numClasses);
    await initBackend('cpu');
    const cpu = runAll(m, x, labels);
    await initBackend('wasm');
    const wasm = runAll(m, x, labels);
    await initBackend('cpu');
    const tolerance = 1e-4, gradientTolerance = 5e-4;
    assert.ok(maxRelativeError(wasm.logits, cpu.logits) < tolerance, `${s.arch} logits`);
    assert.ok(maxRelativeError(wasm.trainLogits, cpu.trainLogits) < tolerance, `${s.arch} training logits`);
    assert.ok(scaledError(wasm.inputGrad, cpu.inputGrad) < tolerance, `${s.arch} input gradient`);
    const names = [...m.trainable.keys()];
    const largest = Math.max(...cpu.paramGrads.map(maxAbs));
    cpu.paramGrads.forEach((g, i) => assert.ok(scaledError(wasm.paramGrads[i]!, g, 1e-3 * largest) < gradientTolerance, `${s.arch} ${names[i]} gradient`));
    m.dispose();
  }
});

test('BatchNorm\'s written-out gradient equals autodiff of the plain formula (training and eval)', () => {
  const C = 5;
  const x = tf.randomNormal([3, 4, 4, C], 1, 2, 'float32', 1);
  const weights = tf.randomNormal([3, 4, 4, C], 0, 1, 'float32', 4);
  const gamma = tf.variable(tf.randomNormal([C], 1, 0.5, 'float32', 2)), beta = tf.variable(tf.randomNormal([C], 0, 1, 'float32', 3));
  const runningMean = tf.variable(tf.randomNormal([C], 0, 1, 'float32', 5), false);
  const runningVar = tf.variable(tf.randomUniform([C], 0.5, 2, 'float32', 6), false);
  const vars = new Map([['b.weight', gamma], ['b.bias', beta], ['b.running_mean', runningMean], ['b.running_var', runningVar],
    ['b.num_batches_tracked', tf.variable(tf.scalar(0, 'int32'), false)]]);
  for (const training of [true, false]) {
    const ops = new TensorOps(vars, { training });
    // A non-linear loss so every term of the gradient matters.
    const ours = (t: tf.Tensor) => tf.sum(tf.mul(tf.square(ops.batchNorm2d('b', t, C)), weights)) as tf.Scalar;
    const plain = (t: tf.Tensor) => {
      const { mean, variance } = training ? tf.moments(t, [0, 1, 2]) : { mean: runningMean, variance: runningVar };
      const y = tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
      return tf.sum(tf.mul(tf.square(y), weights)) as tf.Scalar;
    };
    const a = tf.variableGrads(() => ours(x), [gamma, beta]).grads, b = tf.variableGrads(() => plain(x), [gamma, beta]).grads;
    const label = training ? 'training' : 'eval';
    assert.ok(maxRelativeError(tf.grad(ours)(x).dataSync(), tf.grad(plain)(x).dataSync()) < 1e-4, `${label} dx`);
    for (const k of Object.keys(b)) assert.ok(maxRelativeError(a[k]!.dataSync(), b[k]!.dataSync()) < 1e-4, `${label} ${k}`);
  }
});
