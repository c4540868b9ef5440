import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { getMethod, nearestIndices, predictedClasses } from '../../src/attribution/index.js';
import { assertClose, readFixture, useCpu } from './helpers.js';
import { TinyModel } from './tiny-models.js';

// Attributions computed by Captum 0.5.0 itself (fixtures/captum_oracle.py) on two tiny nets, one sample at
// a time as the reference does. The same weights rebuilt in tfjs must give the same attributions.
const { tensor: t, f32, names } = readFixture('captum-oracle.safetensors');
const SIZE = 12;

function netA(): TinyModel {
  const w = (n: string) => f32(`a.weights.${n}`);
  return new TinyModel(SIZE, 3, [
    { kind: 'conv', name: 'conv1', weight: w('conv1.weight'), shape: [4, 3, 3, 3], bias: w('conv1.bias'), pad: 1 },
    { kind: 'relu', name: 'relu1' },
    { kind: 'max_pool', name: 'pool1', size: 3, stride: 2, pad: 1 },
    { kind: 'conv', name: 'conv2', weight: w('conv2.weight'), shape: [5, 4, 3, 3], bias: w('conv2.bias') },
    { kind: 'relu', name: 'relu2' },
    { kind: 'max_pool', name: 'pool2', size: 2, stride: 2 },
    { kind: 'flatten', name: 'flatten' },
    { kind: 'linear', name: 'fc1', weight: w('fc1.weight'), shape: [8, 20], bias: w('fc1.bias') },
    { kind: 'leaky_relu', name: 'lrelu', alpha: 0.01 },
    { kind: 'linear', name: 'fc2', weight: w('fc2.weight'), shape: [3, 8], bias: w('fc2.bias') },
  ]);
}

function netB(): TinyModel {
  const w = (n: string) => f32(`b.weights.${n}`);
  return new TinyModel(SIZE, 3, [
    { kind: 'conv', name: 'conv1', weight: w('conv1.weight'), shape: [4, 3, 3, 3], bias: w('conv1.bias'), stride: 2 },
    { kind: 'relu', name: 'relu1' },
    { kind: 'flatten', name: 'flatten' },
    { kind: 'linear', name: 'fc1', weight: w('fc1.weight'), shape: [6, 100], bias: w('fc1.bias') },
    { kind: 'softmax', name: 'softmax', groups: 2 },
    { kind: 'linear', name: 'fc2', weight: w('fc2.weight'), shape: [3, 6], bias: w('fc2.bias') },
  ]);
}

/** NCHW fixture images → NHWC model input. */
function inputs(): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(f32('inputs'), [3, 3, SIZE, SIZE]), [0, 2, 3, 1]));
}

const METHODS = ['Saliency', 'IntegratedGradients', 'InputXGradient', 'DeepLift', 'GuidedBackprop', 'Deconvolution', 'GuidedGradCam', 'DeepLiftShap'];

describe('equal to Captum 0.5.0 on the same weights', () => {
  before(useCpu);
  for (const [label, build] of [['ReLU/max-pool/LeakyReLU net', netA], ['softmax (SPA-like) net', netB]] as const) {
    const prefix = label.startsWith('ReLU') ? 'a' : 'b';
    for (const name of METHODS) {
      it(`${name} on the ${label}`, () => {
        const model = build();
        const x = inputs();
        const targets = Array.from(t(`${prefix}.targets`).data as Int32Array);
        assert.deepEqual(predictedClasses(model, x), targets, 'same predictions as the PyTorch net');
        // Internal batch 2: several passes, and DeepLift/DeepLiftShap samples batched unlike Captum's one-by-one.
        const result = getMethod(name).attribute(model, x, undefined, { baselines: f32('baselines'), internalBatchSize: name.startsWith('DeepLift') ? 16 : 2 });
        assert.deepEqual(result.shape, [3, 3, SIZE, SIZE]);
        const expected = f32(`${prefix}.${name}`);
        const scale = Math.max(...expected.map(Math.abs));
        assert.ok(scale > 0, 'non-trivial oracle');
        assertClose(result.data, expected, 2e-5 * scale, 1e-4, `${name}/${prefix}`);
        x.dispose();
        model.dispose();
      });
    }
  }

  it('nearest upsampling indices equal PyTorch interpolate(mode="nearest")', () => {
    for (const key of names.filter((k) => k.startsWith('nearest.'))) {
      const [inSize, outSize] = key.slice('nearest.'.length).split('to').map(Number) as [number, number];
      assert.deepEqual(nearestIndices(inSize, outSize), Array.from(t(key).data as Int32Array), key);
    }
  });
});
