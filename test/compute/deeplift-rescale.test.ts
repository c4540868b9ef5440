import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, deepLiftRescaleOp } from '../../src/compute/index.js';
import { nativeBuilt, randomValues, runOn } from './compare.js';

/** The rescale rule as tfjs ops (how the rule was written before the fused kernel): the independent implementation. */
function composite(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, eps: number, plain: tf.Tensor | { slope: number }): tf.Tensor {
  const [xi, xr] = tf.split(x, 2, 0) as [tf.Tensor, tf.Tensor];
  const [yi, yr] = tf.split(y, 2, 0) as [tf.Tensor, tf.Tensor];
  const dIn = tf.concat([tf.sub(xi, xr), tf.sub(xi, xr)], 0);
  const dOut = tf.concat([tf.sub(yi, yr), tf.sub(yi, yr)], 0);
  const plainGrad = plain instanceof tf.Tensor ? plain
    : tf.mul(dy, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.mul(tf.onesLike(x), tf.scalar(plain.slope))));
  return tf.where(tf.less(tf.abs(dIn), eps), plainGrad, tf.div(tf.mul(dy, dOut), dIn));
}

const backends: BackendName[] = nativeBuilt ? ['cpu', 'wasm', 'native'] : ['cpu', 'wasm'];

test('DeepLift rescale kernel = the rule written in tfjs ops, bit for bit, on every backend (ReLU, LeakyReLU, softmax plain)', async () => {
  const shape = [4, 3, 5, 7];
  const x = randomValues('rescale/x', shape);
  // A quarter of the references equal their inputs (|Δin| < eps: the plain gradient), some of both at 0 (the
  // ReLU's kink), and some inputs alone are 0.
  for (let i = 0; i < x.length / 2; i += 4) x[i + x.length / 2] = i % 8 === 0 ? (x[i] = 0) : x[i]!;
  for (let i = 1; i < x.length; i += 9) x[i] = 0;
  const dy = randomValues('rescale/dy', shape), plain = randomValues('rescale/plain', shape);
  for (const [label, slope] of [['relu', -0], ['leaky relu', 0.01]] as const) {
    for (const withPlain of [false, true]) {
      const build = (fused: boolean) => () => {
        const xt = tf.tensor(x, shape);
        const yt = slope === 0 ? tf.relu(xt) : tf.leakyRelu(xt, slope);
        const p = withPlain ? tf.tensor(plain, shape) : { slope };
        return (fused ? deepLiftRescaleOp : composite)(tf.tensor(dy, shape), xt, yt, 1e-10, p);
      };
      for (const backend of backends) {
        const [expected] = await runOn(backend, build(false));
        const [actual] = await runOn(backend, build(true));
        assert.deepEqual(actual, expected, `${label}${withPlain ? ' with a plain gradient' : ''} on ${backend}`);
        assert.ok(expected!.some((v, i) => v !== dy[i]), 'the rescaled branch is taken');
      }
    }
  }
});

test('DeepLift rescale kernel refuses a batch without a reference half', async () => {
  await runOn('cpu', () => {
    assert.throws(() => deepLiftRescaleOp(tf.ones([3, 2]), tf.ones([3, 2]), tf.ones([3, 2]), 1e-10, { slope: 0 }), /even rows/);
    return tf.zeros([1]);
  });
});
