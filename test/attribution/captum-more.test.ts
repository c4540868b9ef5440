import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { getMethod, predictedClasses } from '../../src/attribution/index.js';
import { assertClose, readFixture, useCpu } from './helpers.js';
import { TinyModel } from './tiny-models.js';

// What Captum 0.8.0 itself computes (fixtures/captum_more.py) on a tiny ReLU / max-pool net, one sample at a time:
// Grad-CAM (LayerGradCam + bilinear interpolate), Occlusion and LRP with its default rules.
const { tensor: t, f32, metadata } = readFixture('captum-more.safetensors');
const SIZE = 12;

function netC(): TinyModel {
  const w = (n: string) => f32(`weights.${n}`);
  return new TinyModel(SIZE, 3, [
    { kind: 'conv', name: 'conv1', weight: w('conv1.weight'), shape: [4, 3, 3, 3], bias: w('conv1.bias'), pad: 1 },
    { kind: 'relu', name: 'relu1' },
    { kind: 'max_pool', name: 'pool1', size: 2, stride: 2 },
    { kind: 'conv', name: 'conv2', weight: w('conv2.weight'), shape: [5, 4, 3, 3], bias: w('conv2.bias'), pad: 1 },
    { kind: 'relu', name: 'relu2' },
    { kind: 'flatten', name: 'flatten' },
    { kind: 'linear', name: 'fc', weight: w('fc.weight'), shape: [3, 180], bias: w('fc.bias') },
  ]);
}

describe(`equal to Captum ${metadata.captum ?? '0.8.0'} on the same weights`, () => {
  before(useCpu);
  const cases = [
    ['GradCam', { camLayer: 'conv2' }, 1],
    ['Occlusion', { occlusionWindow: 4, occlusionStride: 2 }, 3],
    ['LRP', {}, 3],
  ] as const;
  for (const [name, options, channels] of cases) {
    it(name, () => {
      const model = netC();
      const x = tf.tidy(() => tf.transpose(tf.tensor4d(f32('inputs'), [3, 3, SIZE, SIZE]), [0, 2, 3, 1])) as tf.Tensor4D;
      const targets = Array.from(t('targets').data as BigInt64Array, Number);
      assert.deepEqual(predictedClasses(model, x), targets, 'same predictions as the PyTorch net');
      const result = getMethod(name).attribute(model, x, targets, options);
      const expected = f32(name);
      const scale = Math.max(...expected.map(Math.abs));
      assert.ok(scale > 0, 'non-trivial oracle');
      assert.deepEqual(result.shape, [3, channels, SIZE, SIZE]); // Grad-CAM: one map per sample, as Captum's
      assertClose(result.data, expected, 1e-5 * scale, 1e-4, name);
      x.dispose();
      model.dispose();
    });
  }
});
