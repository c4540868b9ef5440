import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { getMethod, resolveMethods } from '../../src/attribution/index.js';
import { UserError } from '../../src/io/index.js';
import { useCpu } from '../nn/helpers.js';
import { images, linearModel, reluPoolNet } from './tiny-models.js';

const SIZE = 6;

describe('NoiseTunnel: SmoothGrad, SmoothGradSq, VarGrad', () => {
  before(useCpu);

  it('on a linear model the gradient ignores the noise: SmoothGrad = |W_t|, SmoothGradSq = W_t², VarGrad = 0', () => {
    const { model, w } = linearModel(SIZE, 3);
    const x = images(2, SIZE);
    const target = [2, 0];
    const plane = 3 * SIZE * SIZE;
    // W_t in PyTorch's (c, h, w) flattening, which is the attribution's layout.
    const expected = (t: number, f: (v: number) => number) => Array.from(w.subarray(t * plane, (t + 1) * plane), f);
    const smooth = getMethod('SmoothGrad').attribute(model, x, target, { seed: 3 }).data;
    const square = getMethod('SmoothGradSq').attribute(model, x, target, { seed: 3 }).data;
    const variance = getMethod('VarGrad').attribute(model, x, target, { seed: 3 }).data;
    target.forEach((t, i) => {
      const row = (a: Float32Array) => Array.from(a.subarray(i * plane, (i + 1) * plane));
      row(smooth).forEach((v, k) => assert.ok(Math.abs(v - expected(t, Math.abs)[k]!) < 1e-6));
      row(square).forEach((v, k) => assert.ok(Math.abs(v - expected(t, (u) => u * u)[k]!) < 1e-6));
      row(variance).forEach((v) => assert.ok(Math.abs(v) < 1e-6));
    });
    model.dispose();
    x.dispose();
  });

  it('VarGrad = SmoothGradSq − SmoothGrad²; σ = 0 gives the base method; a sample alone equals it in a batch', () => {
    const model = reluPoolNet(SIZE, 3, { size: 2, stride: 2 });
    const x = images(3, SIZE, 5);
    const options = { seed: 1, sampleKeys: ['a', 'b', 'c'], ntSamples: 4, ntStdev: 0.2 };
    const mean = getMethod('SmoothGrad.InputXGradient').attribute(model, x, undefined, options).data;
    const square = getMethod('SmoothGradSq.InputXGradient').attribute(model, x, undefined, options).data;
    const variance = getMethod('VarGrad.InputXGradient').attribute(model, x, undefined, options).data;
    variance.forEach((v, k) => assert.ok(Math.abs(v - (square[k]! - mean[k]! ** 2)) < 1e-5));
    assert.ok(variance.some((v) => v > 1e-6), 'the noise moves the maps');
    const plain = getMethod('InputXGradient').attribute(model, x, undefined).data;
    const noiseless = getMethod('SmoothGrad.InputXGradient').attribute(model, x, undefined, { ...options, ntStdev: 0 }).data;
    noiseless.forEach((v, k) => assert.ok(Math.abs(v - plain[k]!) < 1e-6));
    const alone = getMethod('SmoothGrad.InputXGradient').attribute(model, tf.slice(x, [1], [1]), undefined, { ...options, sampleKeys: ['b'] }).data;
    assert.deepEqual(alone, mean.subarray(alone.length, 2 * alone.length));
    model.dispose();
    x.dispose();
  });

  it('names: SmoothGrad.<method> for any real method but mab and the tunnels; listed once; bad options are one line', () => {
    assert.equal(getMethod('smoothgrad.deeplift').name, 'SmoothGrad.DeepLift');
    assert.equal(getMethod('VARGRAD').name, 'VarGrad');
    assert.throws(() => getMethod('VarGrad.mab'), UserError);
    assert.throws(() => getMethod('SmoothGrad.SmoothGrad'), UserError);
    assert.deepEqual(resolveMethods('SmoothGrad.DeepLift, smoothgrad.deeplift').map((m) => m.name), ['SmoothGrad.DeepLift']);
    assert.ok(resolveMethods('all').some((m) => m.name === 'VarGrad'));
    const { model } = linearModel(SIZE, 3);
    const x = images(1, SIZE);
    assert.throws(() => getMethod('SmoothGrad').attribute(model, x, [0], { ntSamples: 0 }), (e: unknown) => e instanceof UserError && !e.message.includes('\n'));
    model.dispose();
    x.dispose();
  });
});
