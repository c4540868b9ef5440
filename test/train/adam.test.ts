import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam } from '../../src/train/index.js';
import { tf } from './setup.js';

/** torch.optim.Adam's update written out with plain numbers (float64), as in torch/optim/adam.py. */
function referenceAdam(p: number[], grads: (p: number[]) => number[], steps: number, lr: number, b1: number, b2: number, eps: number, wd: number): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  p = [...p];
  for (let t = 1; t <= steps; t++) {
    const g = grads(p).map((gi, i) => gi + wd * p[i]!);
    for (let i = 0; i < p.length; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] = p[i]! - (lr / (1 - b1 ** t)) * (m[i]! / denom);
    }
  }
  return p;
}

test('Adam matches the hand-written PyTorch update, with L2 weight decay added to the gradient', () => {
  const start = [0.5, -1.5, 2, 0.001];
  // loss = sum(c_i * p_i^2) + sum(p) → grad = 2 c p + 1
  const c = [1, 0.5, 3, 10];
  const gradOf = (p: number[]) => p.map((x, i) => 2 * c[i]! * x + 1);
  for (const [lr, betas, wd] of [[0.1, [0.9, 0.999], 0.01], [1e-3, [0.5, 0.999], 0], [1e-4, [0.9, 0.999], 1e-5]] as const) {
    const p = tf.variable(tf.tensor1d(start));
    const adam = new Adam(new Map([['p', p]]), { lr, betas, weightDecay: wd });
    const coef = tf.tensor1d(c);
    for (let step = 0; step < 5; step++) {
      const { grads } = tf.variableGrads(() => tf.add(tf.sum(tf.mul(coef, tf.square(p))), tf.sum(p)) as tf.Scalar, [p]);
      adam.apply(new Map([['p', grads[p.name]!]]));
      tf.dispose(Object.values(grads));
    }
    const expected = referenceAdam(start, gradOf, 5, lr, betas[0], betas[1], 1e-8, wd);
    const got = Array.from(p.dataSync());
    got.forEach((g, i) => assert.ok(Math.abs(g - expected[i]!) < 1e-6 * Math.max(1, Math.abs(expected[i]!)), `lr ${lr}: p[${i}] ${g} vs ${expected[i]}`));
    assert.equal(adam.step, 5);
    // the first step moves every coordinate by about lr (Adam's normalised step)
    tf.dispose([p, coef]);
  }
});

test('Adam state round-trips: a restored optimiser continues exactly like the original', () => {
  const make = () => tf.variable(tf.tensor1d([1, -2, 3]));
  const grad = tf.tensor1d([0.3, -0.1, 0.7]);
  const a = make();
  const adamA = new Adam(new Map([['w', a]]), { lr: 0.01, betas: [0.9, 0.999], weightDecay: 1e-3 });
  adamA.apply(new Map([['w', grad]]));
  adamA.apply(new Map([['w', grad]]));
  const b = make();
  b.assign(a);
  const adamB = new Adam(new Map([['w', b]]), { lr: 0.01, betas: [0.9, 0.999], weightDecay: 1e-3 });
  adamB.setState(adamA.getState());
  adamA.apply(new Map([['w', grad]]));
  adamB.apply(new Map([['w', grad]]));
  assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
  assert.equal(adamB.step, 3);
  tf.dispose([a, b, grad]);
});

test('Adam leaves a parameter without a gradient untouched (PyTorch skips grad None), even with weight decay', () => {
  const w = tf.variable(tf.tensor1d([1]));
  const adam = new Adam(new Map([['w', w]]), { lr: 0.1, betas: [0.9, 0.999], weightDecay: 0.1 });
  adam.apply(new Map());
  assert.deepEqual(Array.from(w.dataSync()), [1]);
  w.dispose();
});
