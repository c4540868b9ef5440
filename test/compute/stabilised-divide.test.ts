import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { type BackendName, stabilisedDivideOp } from '../../src/compute/index.js';
import { nativeBuilt, runOn } from './compare.js';

/** The ratio as tfjs ops (how LRP wrote it before the kernel): the independent implementation. */
function composite(a: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  return tf.div(a, tf.add(b, tf.where(tf.greaterEqual(b, 0), tf.fill(b.shape, eps), tf.fill(b.shape, -eps))));
}

const backends: BackendName[] = nativeBuilt ? ['cpu', 'wasm', 'native'] : ['cpu', 'wasm'];
const value = fc.oneof(
  fc.float({ noDefaultInfinity: true, noNaN: true, min: -4, max: 4 }),
  fc.constantFrom(0, -0, 1e-7, -1e-7, 1e-6, -1e-6, Number.NaN, Infinity, -Infinity),
);

test('stabilised divide kernel = the ratio written in tfjs ops, bit for bit, on every backend (zeros, ±ε, NaN, ∞)', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 5000 }).chain((n) => fc.tuple(fc.array(value, { minLength: n, maxLength: n }), fc.array(value, { minLength: n, maxLength: n }))),
    fc.constantFrom(1e-6, 0.25, 0),
    async ([a, b], eps) => {
      const shape = [a.length];
      for (const backend of backends) {
        const [expected] = await runOn(backend, () => composite(tf.tensor(a, shape), tf.tensor(b, shape), eps));
        const [actual] = await runOn(backend, () => stabilisedDivideOp(tf.tensor(a, shape), tf.tensor(b, shape), eps));
        assert.deepEqual(actual, expected, backend);
      }
    },
  ), { numRuns: 25, seed: 7 });
});

test('stabilised divide kernel: b = 0 takes +ε, large sizes split across threads, shapes must match', async () => {
  const n = 300_001; // above the native kernel's parallel grain
  const a = Float32Array.from({ length: n }, (_, i) => (i % 7) - 3);
  const b = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : (i % 11) - 5));
  for (const backend of backends) {
    const [expected] = await runOn(backend, () => composite(tf.tensor(a), tf.tensor(b), 0.5));
    const [actual] = await runOn(backend, () => stabilisedDivideOp(tf.tensor(a), tf.tensor(b), 0.5));
    assert.deepEqual(actual, expected, backend);
    assert.equal(actual![0], -3 / 0.5, `${backend}: 0 + ε`);
    await runOn(backend, () => {
      assert.throws(() => stabilisedDivideOp(tf.ones([2, 3]), tf.ones([3, 2]), 1e-6), /shapes differ/);
      return tf.zeros([1]);
    });
  }
});
