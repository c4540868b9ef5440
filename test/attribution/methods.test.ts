import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { getMethod, methodNames, resolveMethods } from '../../src/attribution/index.js';
import { UserError } from '../../src/io/index.js';
import type { ForwardOptions, ForwardResult, Model } from '../../src/nn/index.js';
import { assertClose, useCpu } from './helpers.js';
import { images, noReluNet, reluPoolNet, TinyModel } from './tiny-models.js';

const SIZE = 8;

/** An SPA stand-in: the ReLU/max-pool net's logits plus heatmap logits equal to the input image. */
function spaLike(): Model {
  const inner = reluPoolNet(SIZE, 3, { size: 3, stride: 2, pad: 1 });
  return {
    spec: { ...inner.spec, arch: 'spa' },
    layerNames: inner.layerNames,
    firstConv: inner.firstConv,
    trainable: inner.trainable,
    buffers: inner.buffers,
    forward(x: tf.Tensor4D, options?: ForwardOptions): ForwardResult {
      return { logits: inner.forward(x, options).logits, heatmapLogits: tf.mul(x, 1) as tf.Tensor4D };
    },
    dispose: () => inner.dispose(),
  };
}

describe('methods: registry, errors, memory, determinism', () => {
  before(useCpu);

  it('lists the methods in the reference V2 order and resolves lists', () => {
    assert.deepEqual(methodNames, ['Saliency', 'IntegratedGradients', 'InputXGradient', 'DeepLift', 'GuidedBackprop', 'GuidedGradCam', 'Deconvolution', 'GradientShap', 'DeepLiftShap', 'mab', 'GradCam', 'GradCamPlusPlus', 'Occlusion', 'LRP', 'LRPEpsilonPlus', 'LRPEpsilonGamma', 'LRPEpsilonGammaBox',
      'SmoothGrad', 'SmoothGradSq', 'VarGrad', 'NullUniform', 'NullGaussian', 'NullEdges', 'NullBlob', 'GroundTruth']);
    assert.equal(getMethod(' deeplift ').name, 'DeepLift');
    const plain = reluPoolNet(SIZE, 3, { size: 2, stride: 2 });
    const spa = spaLike();
    assert.deepEqual(resolveMethods('all', plain).map((m) => m.name), [...methodNames.slice(0, 9), ...methodNames.slice(10, 20)]);
    assert.deepEqual(resolveMethods('all', spa).map((m) => m.name), [...methodNames.slice(0, 13), ...methodNames.slice(17, 20)]);
    assert.deepEqual(resolveMethods('DeepLift, saliency,DeepLift', plain).map((m) => m.name), ['DeepLift', 'Saliency']);
    assert.throws(() => resolveMethods('mab', plain), (e: unknown) => e instanceof UserError && /does not apply/.test(e.message));
    assert.throws(() => getMethod('Lime'), (e: unknown) => e instanceof UserError && /unknown attribution method "Lime"/.test(e.message));
    plain.dispose();
    spa.dispose();
  });

  it('rejects wrong input sizes, bad targets and unknown layers with one-line UserErrors', () => {
    const model = reluPoolNet(SIZE, 3, { size: 2, stride: 2 });
    const wrong = images(1, SIZE + 2);
    const x = images(2, SIZE);
    const userError = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n');
    assert.throws(() => getMethod('Saliency').attribute(model, wrong, undefined), userError(/inputs are 10×10×3 but the model takes 8×8×3/));
    assert.throws(() => getMethod('Saliency').attribute(model, x, [0]), userError(/got 1 targets for 2 samples/));
    assert.throws(() => getMethod('DeepLift').attribute(model, x, [0, 3]), userError(/target class 3 is outside 0..2/));
    assert.throws(() => getMethod('GuidedGradCam').attribute(model, x, undefined, { layer: 'conv9' }), userError(/unknown layer "conv9"; the model's layers are: conv1, relu1/));
    assert.throws(() => getMethod('GuidedGradCam').attribute(model, x, undefined, { layer: 'fc' }), userError(/not a spatial/));
    assert.throws(() => getMethod('mab').attribute(model, x, undefined), userError(/heatmap head/));
    for (const t of [wrong, x]) t.dispose();
    model.dispose();
  });

  it('leaks no tensors (every method, several internal passes)', () => {
    const model = spaLike();
    const x = images(3, SIZE);
    const before = tf.memory().numTensors;
    for (const name of methodNames.filter((n) => getMethod(n).appliesTo(model.spec.arch))) {
      const truth = new Float32Array(3 * SIZE * SIZE).fill(0.4);
      const result = getMethod(name).attribute(model, x, undefined, { internalBatchSize: 4, steps: 5, truth });
      assert.equal(result.shape[0], 3, name);
      assert.equal(tf.memory().numTensors, before, `${name} leaked ${tf.memory().numTensors - before} tensors`);
    }
    x.dispose();
    model.dispose();
  });

  it('targets the predicted class by default', () => {
    const model = reluPoolNet(SIZE, 3, { size: 2, stride: 2 });
    const x = images(3, SIZE, 7);
    const predicted = tf.tidy(() => Array.from(tf.argMax(model.forward(x).logits, 1).dataSync()));
    assert.deepEqual(getMethod('Saliency').attribute(model, x, undefined).data, getMethod('Saliency').attribute(model, x, predicted).data);
    x.dispose();
    model.dispose();
  });

  it('SHAP methods: a sample’s result depends on (seed, sample key) only, not on its batch or the internal batch size', () => {
    const model = noReluNet(SIZE, 3);
    const x = images(3, SIZE, 13);
    const middle = tf.slice(x, [1], [1]);
    for (const name of ['GradientShap', 'DeepLiftShap']) {
      const method = getMethod(name);
      const all = method.attribute(model, x, [0, 1, 2], { seed: 5, sampleKeys: ['a', 'b', 'c'], internalBatchSize: 16 });
      const alone = method.attribute(model, middle, [1], { seed: 5, sampleKeys: ['b'], internalBatchSize: 3 });
      const plane = 3 * SIZE * SIZE;
      assertClose(alone.data, all.data.subarray(plane, 2 * plane), 1e-7, 1e-6, `${name} batch independence`);
      const again = method.attribute(model, middle, [1], { seed: 5, sampleKeys: ['b'], internalBatchSize: 3 });
      assert.deepEqual(again.data, alone.data, `${name} repeatable`);
      const otherSeed = method.attribute(model, middle, [1], { seed: 6, sampleKeys: ['b'] });
      assert.notDeepEqual(otherSeed.data, alone.data, `${name} depends on the seed`);
    }
    for (const t of [x, middle]) t.dispose();
    model.dispose();
  });

  it('IntegratedGradients does not depend on the internal batch size', () => {
    const model = reluPoolNet(SIZE, 3, { size: 3, stride: 2, pad: 1 });
    const x = images(2, SIZE, 19);
    const one = getMethod('IntegratedGradients').attribute(model, x, [1, 2], { internalBatchSize: 7 });
    const many = getMethod('IntegratedGradients').attribute(model, x, [1, 2], { internalBatchSize: 100 });
    assertClose(one.data, many.data, 1e-7, 1e-5);
    x.dispose();
    model.dispose();
  });

  it('mab decodes argmax over the heatmap logits (first maximum) into 0 / 0.4 / 0.9, 1 × N × N', () => {
    const model = spaLike();
    // Pixels (R, G, B) = heatmap logits: ties resolve to the lower band, as torch.argmax.
    const pixels = [[1, 1, 0], [0, 1, 1], [0, 0, 2], [1, 1, 1], [0, 2, 1], [3, 1, 2]];
    const expected = [0, 0.4, 0.9, 0, 0.4, 0].map(Math.fround);
    const values = new Float32Array(SIZE * SIZE * 3);
    pixels.forEach((p, i) => values.set(p, 3 * i));
    const x = tf.tensor4d(values, [1, SIZE, SIZE, 3]);
    const result = getMethod('mab').attribute(model, x, undefined);
    assert.deepEqual(result.shape, [1, 1, SIZE, SIZE]);
    assert.deepEqual(Array.from(result.data.subarray(0, pixels.length)), expected);
    assert.ok(result.data.subarray(pixels.length).every((v) => v === 0), 'all-zero logits → band 0');
    x.dispose();
    model.dispose();
  });

  it('TinyModel is a faithful Model: layer names in order, first convolution', () => {
    const model: TinyModel = reluPoolNet(SIZE, 3, { size: 2, stride: 2 });
    assert.equal(model.firstConv, 'conv1');
    assert.deepEqual(model.layerNames.slice(0, 3), ['conv1', 'relu1', 'pool1']);
    model.dispose();
  });
});
