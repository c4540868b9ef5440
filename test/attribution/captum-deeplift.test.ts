import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { getMethod, predictedClasses } from '../../src/attribution/index.js';
import { createModel, loadModel, type Model } from '../../src/nn/index.js';
import { SMALL, randomImages } from '../nn/helpers.js';
import { readFixture, relativeL2, sum, useCpu } from './helpers.js';

// Captum's own DeepLift (fixtures/captum_deeplift.py: 0.5.0, the reference's, and 0.8.0) on the shipped quick
// ResNet34 and SPA, two cells each, one sample per call. Ours must be Captum 0.5.0's.
const { tensor: t } = readFixture('captum-deeplift.safetensors');
const WEIGHTS = { resnet34: 'weights/quick/resnet34/branch-1', spa: 'weights/quick/spa' } as const;

/** Per sample: our DeepLift, Captum 0.5.0's and 0.8.0's (NCHW rows), and f(x) − f(0) for the target. */
async function compare(arch: keyof typeof WEIGHTS) {
  const model = await loadModel(fileURLToPath(new URL(`../../../${WEIGHTS[arch]}`, import.meta.url)));
  const shape = t(`${arch}.inputs`).shape as [number, number, number, number];
  const x = tf.tidy(() => tf.transpose(tf.tensor4d(t(`${arch}.inputs`).data as Float32Array, shape), [0, 2, 3, 1])) as tf.Tensor4D;
  const targets = Array.from(t(`${arch}.targets`).data as BigInt64Array, Number);
  assert.deepEqual(predictedClasses(model, x), targets, 'the same predictions as PyTorch');
  const ours = getMethod('DeepLift').attribute(model, x, targets, {}).data;
  const logits = (input: tf.Tensor4D) => tf.tidy(() => model.forward(input).logits.arraySync() as number[][]);
  const [fx, f0] = [logits(x), logits(tf.zerosLike(x))];
  const per = ours.length / shape[0];
  const row = (a: ArrayLike<number>, i: number) => Array.prototype.slice.call(a, i * per, (i + 1) * per) as number[];
  const rows = targets.map((target, i) => ({
    ours: row(ours, i), v05: row(t(`${arch}.captum_0.5.0`).data as Float32Array, i), v08: row(t(`${arch}.captum_0.8.0`).data as Float32Array, i),
    delta: fx[i]![target]! - f0[i]![target]!,
  }));
  x.dispose();
  model.dispose();
  return rows;
}

describe('DeepLift equals Captum 0.5.0 on the shipped models (fixtures/captum_deeplift.py)', () => {
  before(useCpu);

  it('ResNet34 (BatchNorm, residual additions, the stem\'s max-pool): to float32 rounding; Captum 0.8.0 differs', async () => {
    for (const r of await compare('resnet34')) {
      assert.ok(relativeL2(r.ours, r.v05) < 1e-5, `relative L2 ${relativeL2(r.ours, r.v05)}`);
      // 0.8.0 routes the ReLU → max-pool pair differently (README, "Captum versions"): its maps differ by half and
      // sum to f(x) − f(0), where 0.5.0's max-pool rule loses the windows whose argmax is shared or unchanged.
      assert.ok(relativeL2(r.v08, r.v05) > 0.3, `0.8.0 vs 0.5.0: ${relativeL2(r.v08, r.v05)}`);
      assert.ok(Math.abs(sum(r.v08) - r.delta) < 1e-4 * Math.abs(r.delta));
      assert.ok(Math.abs(sum(r.ours) - sum(r.v05)) < 1e-4 * Math.abs(sum(r.v05)));
      assert.ok(sum(r.ours) < 0.9 * r.delta, `${sum(r.ours)} vs ${r.delta}`);
    }
  });

  it('SPA (attention softmax): to the float32 conditioning of its rule, the same in both Captum versions', async () => {
    for (const r of await compare('spa')) {
      // Captum's own float32 maps differ from its float64 ones by up to 2.6e-3 on these cells (measured): Δout / Δin
      // of the attention softmax divides by differences just above 1e-10, and the map sums cancel (±400 for a
      // logit change of 9), so rounding sets the floor.
      assert.ok(relativeL2(r.ours, r.v05) < 1e-2, `relative L2 ${relativeL2(r.ours, r.v05)}`);
      assert.ok(relativeL2(r.v08, r.v05) < 1e-6);
      assert.ok(Math.abs(sum(r.ours) - r.delta) > 10 * Math.abs(r.delta), 'the bilinear attention is not rescaled: far from complete');
    }
  });
});

describe('DeepLift completeness (contributions sum to f(x) − f(baseline))', () => {
  before(useCpu);

  it('holds without overlapping max-pools or attention (VGG16); the other architectures are the fixture\'s above', () => {
    const spec = SMALL.find((s) => s.arch === 'vgg16')!;
    const model: Model = createModel(spec, 11);
    const x = randomImages(2, spec.inputSize, 12);
    const targets = predictedClasses(model, x);
    const logits = tf.tidy(() => model.forward(x).logits.arraySync() as number[][]);
    const base = tf.tidy(() => model.forward(tf.zerosLike(x)).logits.arraySync() as number[][]);
    for (const name of ['DeepLift', 'DeepLiftShap']) {
      const result = getMethod(name).attribute(model, x, targets, { seed: 0 });
      const per = result.data.length / 2;
      for (let i = 0; i < 2; i++) {
        const total = sum(result.data.subarray(i * per, (i + 1) * per));
        // DeepLiftShap's baselines are N(0, 1) · 0.001 draws, so f(baseline) is f(0) to about 1e-3.
        const delta = logits[i]![targets[i]!]! - base[i]![targets[i]!]!;
        const tolerance = name === 'DeepLift' ? 1e-4 : 1e-2;
        assert.ok(Math.abs(total - delta) < tolerance * Math.max(1, Math.abs(delta)), `${name}: ${total} vs ${delta}`);
      }
    }
    x.dispose();
    model.dispose();
  });
});
