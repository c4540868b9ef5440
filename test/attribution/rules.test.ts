import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DeepLiftRescaleRule } from '../../src/attribution/index.js';
import { probePoolGeometry } from '../../src/attribution/rules.js';
import type { NonlinearityKind } from '../../src/nn/index.js';
import { assertClose, useCpu } from './helpers.js';

/** The gradient the DeepLift rule passes back through one nonlinearity for input rows [x; r] and cotangent dy. */
function ruleGradient(kind: NonlinearityKind, rows: number[][], dy: number[][], forward: (t: tf.Tensor) => tf.Tensor, groups: number, shape?: number[]): number[] {
  return tf.tidy(() => {
    const input = shape ? tf.reshape(tf.tensor(rows), shape) : tf.tensor2d(rows);
    const rule = new DeepLiftRescaleRule(groups);
    const g = tf.grad((t: tf.Tensor) => {
      const out = rule.apply(kind, 'layer', t as tf.Tensor2D, forward);
      return tf.sum(tf.mul(out, tf.reshape(tf.tensor(dy.flat()), out.shape)));
    })(input);
    return Array.from(g.dataSync(), (v) => v + 0);
  });
}

describe('DeepLift rescale rule, by hand', () => {
  before(useCpu);

  it('LeakyReLU: Δout/Δin, the plain slope where Δin = 0', () => {
    // x = [−2, −1, 3], r = [1, −1, −1], slope 0.1: Δin = [−3, 0, 4], Δout = [−1.2, 0, 3.1]
    const got = ruleGradient('leaky_relu', [[-2, -1, 3], [1, -1, -1]], [[1, 1, 1], [1, 1, 1]], (t) => tf.leakyRelu(t, 0.1), 1);
    assertClose(got, [0.4, 0.1, 0.775, 0.4, 0.1, 0.775], 1e-6);
  });

  it('max-pool: cross-maximum rule with max_unpool2d assignment (a later window overwrites a shared argmax)', () => {
    // One row of 5, windows [0..2] and [2..4]. x = [0, 1, 5, 2, 0] (both windows' max at index 2),
    // r = [1, 0, 0, 3, 0] (maxima at 0 and 3); dy = [2, 3] in both halves. y = [5, 5], yr = [1, 3], m = [5, 5].
    // unpool_x writes 2·(5 − 1) = 8 then 3·(5 − 3) = 6 at index 2 (6 stays); unpool_r writes 0s.
    // Δin = [−1, 1, 5, −1, 0] → grad = [0, 0, 1.2, 0, plain]; the plain gradient at index 4 is 0 in both halves.
    const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, [1, 3], [1, 2], 'valid');
    const got = ruleGradient('max_pool', [[0, 1, 5, 2, 0], [1, 0, 0, 3, 0]], [[2, 3], [2, 3]], pool, 1, [2, 1, 5, 1]);
    assertClose(got, [0, 0, 1.2, 0, 0, 0, 0, 1.2, 0, 0], 1e-6);
  });

  it('max-pool: ties go to the first maximum in the window, as max_pool2d', () => {
    // x = [3, 3, 3, 3] in one window of 4 (stride 4), r = 0: everything flows to index 0.
    const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, [1, 4], [1, 4], 'valid');
    const got = ruleGradient('max_pool', [[3, 3, 3, 3], [0, 0, 0, 0]], [[1], [1]], pool, 1, [2, 1, 4, 1]);
    assertClose(got, [1, 0, 0, 0, 1, 0, 0, 0], 1e-6);
  });

  it('softmax: rescale, then minus the per-sample mean of the whole [x; r] gradient', () => {
    const x = [[0.5, 1, -1], [2, 0, 1]];
    const r = [[0, 1, 0], [1, 1, 1]];
    const dy = [[1, -2, 0.5], [0.3, 1, -1], [1, -2, 0.5], [0.3, 1, -1]];
    const softmax = (v: number[]) => { const e = v.map(Math.exp); const s = e.reduce((a, b) => a + b); return e.map((u) => u / s); };
    const rows = [...x, ...r];
    const out = rows.map(softmax);
    const unnormalised = rows.map((row, i) => row.map((_, j) => {
      const partner = i < 2 ? i : i - 2;
      const dIn = x[partner]![j]! - r[partner]![j]!;
      const dOut = out[partner]![j]! - out[partner + 2]![j]!;
      if (Math.abs(dIn) < 1e-10) {
        const dot = out[i]!.reduce((a, y, k) => a + y * dy[i]![k]!, 0);
        return out[i]![j]! * (dy[i]![j]! - dot);
      }
      return (dy[i]![j]! * dOut) / dIn;
    }));
    const expected = unnormalised.map((row, i) => {
      const group = i % 2;
      const total = [...unnormalised[group]!, ...unnormalised[group + 2]!].reduce((a, b) => a + b, 0);
      return row.map((v) => v - total / 6);
    });
    assertClose(ruleGradient('softmax', rows, dy, (t) => tf.softmax(t), 2), expected.flat(), 1e-6, 1e-5);
  });

  it('recovers padded, overlapping pooling windows from the operation itself', () => {
    const g = probePoolGeometry(5, 6, (t) => tf.maxPool(t as tf.Tensor4D, 3, 2, 1));
    assert.deepEqual([Array.from(g.rowStart), Array.from(g.rowEnd)], [[0, 1, 3], [1, 3, 4]]);
    assert.deepEqual([Array.from(g.colStart), Array.from(g.colEnd)], [[0, 1, 3], [1, 3, 5]]);
  });
});
