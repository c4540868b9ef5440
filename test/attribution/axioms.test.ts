import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { gaussLegendre01, getMethod, layerGradCam, nearestIndices } from '../../src/attribution/index.js';
import { assertClose, sum, targetLogits, useCpu } from './helpers.js';
import { images, linearModel, noReluNet, oneConvNet, reluPoolNet, TinyModel, weights } from './tiny-models.js';
import { targetScore } from '../../src/attribution/common.js';

const SIZE = 8;

/** f(x)_t − f(b)_t per sample. */
function logitGap(model: ReturnType<typeof reluPoolNet>, x: tf.Tensor4D, b: tf.Tensor4D, targets: number[]): number[] {
  return tf.tidy(() => {
    const fx = targetLogits(model.forward(x).logits, targets);
    const fb = targetLogits(model.forward(b).logits, targets);
    return fx.map((v, i) => v - fb[i]!);
  });
}

/** Σ of each sample's attribution. */
function perSampleSums(data: Float32Array, n: number): number[] {
  const per = data.length / n;
  return Array.from({ length: n }, (_, i) => sum(data, i * per, (i + 1) * per));
}

describe('axioms on a linear model', () => {
  before(useCpu);
  it('IG = DeepLift = InputXGradient = x·w, Saliency = |w|, SHAP = (x − b)·w', () => {
    const classes = 3;
    const { model, w } = linearModel(SIZE, classes);
    const x = images(2, SIZE);
    const targets = [2, 0];
    const plane = 3 * SIZE * SIZE;
    const xNchw = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync());
    const expectedXW = new Float32Array(2 * plane);
    const expectedAbsW = new Float32Array(2 * plane);
    for (let i = 0; i < 2; i++) {
      for (let p = 0; p < plane; p++) {
        const weight = w[targets[i]! * plane + p]!;
        expectedXW[i * plane + p] = xNchw[i * plane + p]! * weight;
        expectedAbsW[i * plane + p] = Math.abs(weight);
      }
    }
    for (const name of ['IntegratedGradients', 'DeepLift', 'InputXGradient']) {
      assertClose(getMethod(name).attribute(model, x, targets).data, expectedXW, 1e-6, 1e-5, name);
    }
    assertClose(getMethod('Saliency').attribute(model, x, targets).data, expectedAbsW, 0, 0, 'Saliency');
    // Two identical explicit baselines b: every draw of GradientShap and both DeepLiftShap terms give (x − b)·w.
    const b = new Float32Array(plane).map((_, p) => 0.1 * Math.sin(p));
    const baselines = new Float32Array(2 * plane);
    baselines.set(b, 0);
    baselines.set(b, plane);
    const expectedShap = expectedXW.map((v, k) => v - b[k % plane]! * w[targets[Math.floor(k / plane)]! * plane + (k % plane)]!);
    for (const name of ['GradientShap', 'DeepLiftShap']) {
      assertClose(getMethod(name).attribute(model, x, targets, { baselines }).data, expectedShap, 1e-6, 1e-5, name);
    }
    x.dispose();
    model.dispose();
  });
});

describe('completeness and summation-to-delta', () => {
  before(useCpu);
  it('Σ IG → f(x) − f(0), the error shrinking with the number of steps', () => {
    const model = reluPoolNet(SIZE, 3, { size: 2, stride: 2 });
    const x = images(2, SIZE, 5);
    const targets = [0, 1];
    const gap = logitGap(model, x, tf.zerosLike(x), targets);
    // Piecewise-linear nets converge slowly (the path crosses ReLU kinks), so the check spans 8..1000 steps.
    const errors = [8, 200, 1000].map((steps) => {
      const sums = perSampleSums(getMethod('IntegratedGradients').attribute(model, x, targets, { steps }).data, 2);
      return Math.max(...sums.map((s, i) => Math.abs(s - gap[i]!)));
    });
    assert.ok(errors[2]! < errors[1]! && errors[1]! < errors[0]!, `errors for 8, 200, 1000 steps: ${errors}`);
    assert.ok(errors[2]! <= 1e-3 * Math.max(...gap.map(Math.abs)), `1000-step completeness error ${errors[2]} vs gap ${gap}`);
    model.dispose();
    x.dispose();
  });

  it('DeepLift sums to f(x) − f(0) on ReLU / max-pool / LeakyReLU nets', () => {
    for (const pool of [{ size: 2, stride: 2 }, { size: 3, stride: 3, pad: 1 }]) {
      const model = reluPoolNet(SIZE, 3, pool);
      const x = images(3, SIZE, 17);
      const targets = [0, 1, 2];
      const gap = logitGap(model, x, tf.zerosLike(x), targets);
      const sums = perSampleSums(getMethod('DeepLift').attribute(model, x, targets).data, 3);
      assertClose(sums, gap, 1e-5, 1e-4, `pool ${JSON.stringify(pool)}`);
      model.dispose();
      x.dispose();
    }
  });

  it('DeepLiftShap sums to the mean over baselines of f(x) − f(b)', () => {
    const model = reluPoolNet(SIZE, 3, { size: 2, stride: 2 });
    const x = images(1, SIZE, 23);
    const targets = [2];
    const plane = 3 * SIZE * SIZE;
    const baselines = new Float32Array(3 * plane).map((_, k) => 0.3 * Math.cos(k * 0.7));
    const b = tf.tidy(() => tf.transpose(tf.tensor4d(baselines, [3, 3, SIZE, SIZE]), [0, 2, 3, 1]));
    const gaps = logitGap(model, tf.tile(x, [3, 1, 1, 1]), b, [2, 2, 2]);
    const total = sum(getMethod('DeepLiftShap').attribute(model, x, targets, { baselines }).data);
    assertClose([total], [gaps.reduce((a, v) => a + v, 0) / 3], 1e-5, 1e-4);
    model.dispose();
    x.dispose();
    b.dispose();
  });
});

describe('Guided Backprop and Deconvolution', () => {
  before(useCpu);
  it('both equal the plain gradient on a net without ReLU (LeakyReLU, max-pool, softmax keep their gradients)', () => {
    const model = noReluNet(SIZE, 3);
    const x = images(2, SIZE, 31);
    const gradient = getMethod('Saliency').attribute(model, x, [1, 2], { signed: true }).data;
    assert.ok(gradient.some((v) => v !== 0));
    assert.deepEqual(getMethod('GuidedBackprop').attribute(model, x, [1, 2]).data, gradient);
    assert.deepEqual(getMethod('Deconvolution').attribute(model, x, [1, 2]).data, gradient);
    model.dispose();
    x.dispose();
  });

  it('ReLU backward: plain dy·1[x>0], guided relu(dy)·1[x>0], deconvolution relu(dy)', async () => {
    const { guidedBackpropRule, deconvolutionRule } = await import('../../src/attribution/index.js');
    const { plainRule } = await import('../../src/nn/index.js');
    const xs = [-2, -0.5, 0, 0.5, 2, 3];
    const dys = [1, -1, 1, -1, 1, -1];
    const grad = (rule: typeof plainRule) => tf.tidy(() =>
      Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(rule.apply('relu', 'r', t as tf.Tensor2D, (u) => tf.relu(u)), tf.tensor2d([dys]))))(tf.tensor2d([xs])).dataSync(), (v) => v + 0)); // + 0 turns −0 into 0
    assert.deepEqual(grad(plainRule), [0, 0, 0, -1, 1, -1]);
    assert.deepEqual(grad(guidedBackpropRule), [0, 0, 0, 0, 1, 0]);
    assert.deepEqual(grad(deconvolutionRule), [1, 0, 1, 0, 1, 0]);
  });

  it('on a one-ReLU net: guided = convᵀ(relu(dy)·1[z>0]), deconvolution = convᵀ(relu(dy)), built independently', () => {
    const classes = 2;
    const convWeight = weights(4 * 3 * 9, 61);
    const flat = 4 * SIZE * SIZE;
    const model = new TinyModel(SIZE, classes, [
      { kind: 'conv', name: 'conv1', weight: convWeight, shape: [4, 3, 3, 3], bias: weights(4, 62, 0.3), pad: 1 },
      { kind: 'relu', name: 'relu1' },
      { kind: 'flatten', name: 'flatten' },
      { kind: 'linear', name: 'fc', weight: weights(classes * flat, 63), shape: [classes, flat], bias: weights(classes, 64) },
    ]);
    const x = images(1, SIZE, 41);
    const target = [1];
    const expected = tf.tidy(() => {
      let z: tf.Tensor | undefined;
      model.forward(x, { taps: { conv1: (a) => (z = a) } });
      const dy = tf.grad((zero: tf.Tensor) => targetScore(model.forward(x, { taps: { relu1: (a) => tf.add(a, zero) } }).logits, target))(tf.zerosLike(z!));
      const hwio = tf.transpose(tf.tensor4d(convWeight, [4, 3, 3, 3]), [2, 3, 1, 0]) as tf.Tensor4D;
      const convT = (cotangent: tf.Tensor) => tf.grad((input: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(tf.pad(input as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]]), hwio, 1, 'valid'), cotangent)))(x);
      const nchw = (t: tf.Tensor) => Array.from(tf.transpose(t, [0, 3, 1, 2]).dataSync());
      const positive = tf.cast(tf.greater(z!, 0), 'float32');
      return { guided: nchw(convT(tf.mul(tf.relu(dy), positive))), deconv: nchw(convT(tf.relu(dy))) };
    });
    const guided = getMethod('GuidedBackprop').attribute(model, x, target).data;
    const deconv = getMethod('Deconvolution').attribute(model, x, target).data;
    assertClose(guided, expected.guided, 1e-6, 1e-5, 'GuidedBackprop');
    assertClose(deconv, expected.deconv, 1e-6, 1e-5, 'Deconvolution');
    assert.ok(guided.some((v, i) => Math.abs(v - deconv[i]!) > 1e-3), 'the two rules differ on this net');
    model.dispose();
    x.dispose();
  });
});

describe('Grad-CAM of a one-convolution model by hand', () => {
  before(useCpu);
  it('LayerGradCam = Σ_k (w_fc[t,k] / hw) · A_k, GuidedGradCam = its ReLU upsampled (nearest) × gradient, GradCam = its ReLU upsampled (bilinear), Grad-CAM++ by eq. 19', () => {
    const [size, channels, k, stride, classes] = [9, 2, 3, 2, 2];
    const model = oneConvNet(size, classes, channels, k, stride);
    const x = images(1, size, 53);
    const target = 1;
    const out = Math.floor((size - k) / stride) + 1; // 4
    const xv = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync()); // c, h, w
    const conv = model['ops'][0] as { weight: Float32Array; bias: Float32Array };
    const fc = model['ops'][2] as { weight: Float32Array };
    const wConv = (o: number, c: number, i: number, j: number) => conv.weight[((o * 3 + c) * k + i) * k + j]!;
    // Activations by a naive convolution, gradients by hand: d y_t / d A_k(i, j) = w_fc[t, k] / (out²).
    const activation = (o: number, i: number, j: number) => {
      let s = conv.bias[o]!;
      for (let c = 0; c < 3; c++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) s += wConv(o, c, a, b) * xv[(c * size + i * stride + a) * size + j * stride + b]!;
      return s;
    };
    const alpha = (o: number) => fc.weight[target * channels + o]! / (out * out);
    const cam: number[] = [];
    for (let i = 0; i < out; i++) for (let j = 0; j < out; j++) cam.push(alpha(0) * activation(0, i, j) + alpha(1) * activation(1, i, j));
    const computed = tf.tidy(() => Array.from(layerGradCam(model, x, [target], 'conv', false).dataSync()));
    assertClose(computed, cam, 1e-6, 1e-5, 'LayerGradCam');
    // Input gradient by hand: Σ_k alpha_k Σ_{windows (i,j) covering the pixel} w_conv[k, c, p − s·i, q − s·j].
    const up = nearestIndices(out, size);
    const expected: number[] = [];
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < size; p++) {
        for (let q = 0; q < size; q++) {
          let g = 0;
          for (let o = 0; o < channels; o++) {
            for (let i = 0; i < out; i++) {
              for (let j = 0; j < out; j++) {
                const [a, b] = [p - stride * i, q - stride * j];
                if (a >= 0 && a < k && b >= 0 && b < k) g += alpha(o) * wConv(o, c, a, b);
              }
            }
          }
          expected.push(g * Math.max(0, cam[up[p]! * out + up[q]!]!));
        }
      }
    }
    assertClose(getMethod('GuidedGradCam').attribute(model, x, [target], { layer: 'conv' }).data, expected, 1e-6, 1e-5, 'GuidedGradCam');
    // GradCam: ReLU(cam) upsampled bilinearly as PyTorch's interpolate(align_corners=False): source coordinate
    // (p + 0.5)·out/size − 0.5, clamped at 0, between the two nearest cells.
    const taps = (p: number): [number, number, number] => {
      const src = Math.max(0, ((p + 0.5) * out) / size - 0.5);
      const i0 = Math.min(Math.floor(src), out - 1);
      return [i0, Math.min(i0 + 1, out - 1), src - i0];
    };
    const upsample = (map: number[]) => {
      const relu = map.map((v) => Math.max(0, v));
      const bilinear: number[] = [];
      for (let p = 0; p < size; p++) {
        for (let q = 0; q < size; q++) {
          const [a0, a1, u] = taps(p);
          const [b0, b1, v] = taps(q);
          const at = (i: number, j: number) => relu[i * out + j]!;
          bilinear.push((1 - u) * ((1 - v) * at(a0, b0) + v * at(a0, b1)) + u * ((1 - v) * at(a1, b0) + v * at(a1, b1)));
        }
      }
      return bilinear;
    };
    const gradCam = getMethod('GradCam').attribute(model, x, [target]); // default layer: the (only) convolution
    assert.deepEqual(gradCam.shape, [1, 1, size, size]);
    assertClose(gradCam.data, upsample(cam), 1e-6, 1e-5, 'GradCam');
    // Grad-CAM++ with a gradient g_k constant over the map: α = g² / (2g² + S_k g³ + 1e-6), S_k = Σ A_k, and
    // w_k = Σ_ij α · ReLU(g) = out² · α · ReLU(g_k): channels with a negative gradient drop out.
    const plusWeight = (o: number) => {
      let total = 0;
      for (let i = 0; i < out; i++) for (let j = 0; j < out; j++) total += activation(o, i, j);
      const g = alpha(o);
      return out * out * Math.max(0, g) * (g * g) / (2 * g * g + total * g ** 3 + 1e-6);
    };
    assert.ok(alpha(0) * alpha(1) < 0, 'one channel has a negative gradient (its Grad-CAM++ weight is 0)');
    const plusCam: number[] = [];
    for (let i = 0; i < out; i++) for (let j = 0; j < out; j++) plusCam.push(plusWeight(0) * activation(0, i, j) + plusWeight(1) * activation(1, i, j));
    assertClose(getMethod('GradCamPlusPlus').attribute(model, x, [target]).data, upsample(plusCam), 1e-6, 1e-5, 'GradCamPlusPlus');
    model.dispose();
    x.dispose();
  });
});

describe('Gauss–Legendre points on [0, 1]', () => {
  it('integrate polynomials up to degree 2n − 1 exactly, with nodes ascending inside (0, 1)', () => {
    for (const n of [1, 2, 7, 50]) {
      const { alphas, steps } = gaussLegendre01(n);
      assert.equal(alphas.length, n);
      for (let i = 0; i < n; i++) assert.ok(alphas[i]! > 0 && alphas[i]! < 1 && (i === 0 || alphas[i]! > alphas[i - 1]!));
      for (let degree = 0; degree < 2 * n; degree++) {
        const integral = alphas.reduce((s, a, i) => s + steps[i]! * a ** degree, 0);
        assert.ok(Math.abs(integral - 1 / (degree + 1)) < 1e-13, `n ${n}, degree ${degree}: ${integral}`);
      }
    }
    const { alphas } = gaussLegendre01(2);
    assertClose(alphas, [0.5 - 0.5 / Math.sqrt(3), 0.5 + 0.5 / Math.sqrt(3)], 1e-15);
  });
});
