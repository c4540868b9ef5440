import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { probePoolGeometry } from '../../src/attribution/rules.js';
import { type BackendName, deepLiftMaxPoolOp } from '../../src/compute/index.js';
import { nativeBuilt, randomValues, runOn } from './compare.js';

/** Bit for bit (−0 is not +0), any NaN matching any NaN. */
function assertSameBits(actual: Float32Array, expected: Float32Array, label: string): void {
  assert.equal(actual.length, expected.length, label);
  for (let i = 0; i < actual.length; i++) {
    const same = Object.is(actual[i], expected[i]) || (Number.isNaN(actual[i]) && Number.isNaN(expected[i]));
    assert.ok(same, `${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

const poolCase = fc.record({
  rows: fc.constantFrom(2, 4), height: fc.integer({ min: 2, max: 9 }), width: fc.integer({ min: 2, max: 9 }),
  channels: fc.integer({ min: 1, max: 5 }), kernel: fc.integer({ min: 2, max: 3 }), stride: fc.integer({ min: 1, max: 3 }),
  pad: fc.constantFrom('valid', 'same'), nan: fc.boolean(),
});

test('DeepLift max-pool kernel: native and wasm = the JavaScript kernel on cpu, bit for bit (overlapping windows, ties, padding, Δin = 0, NaN)', async () => {
  const backends: BackendName[] = nativeBuilt ? ['wasm', 'native'] : ['wasm'];
  await fc.assert(fc.asyncProperty(poolCase, async (c) => {
    const key = JSON.stringify(c);
    const shape = [c.rows, c.height, c.width, c.channels];
    // Half-steps give ties inside windows; every third reference equals its input (the plain gradient's branch).
    const x = randomValues(`${key}/x`, shape).map((v) => Math.round(v * 2) / 2);
    const half = x.length / 2;
    for (let i = 0; i < half; i += 3) x[half + i] = x[i]!;
    if (c.nan) x[Math.floor(half / 2)] = NaN;
    const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, c.kernel, c.stride, c.pad as 'valid' | 'same');
    // The pooled values and the windows from cpu, so that every backend's kernel sees the same inputs (wasm's
    // max-pool treats NaN otherwise).
    const [y] = await runOn('cpu', () => pool(tf.tensor4d(x, shape as [number, number, number, number])));
    const geometry = probePoolGeometry(c.height, c.width, pool);
    const yShape = [c.rows, geometry.rowStart.length, geometry.colStart.length, c.channels];
    const dy = randomValues(`${key}/dy`, yShape);
    const build = () => deepLiftMaxPoolOp(tf.tensor(dy, yShape), tf.tensor(x, shape), tf.tensor(y!, yShape), geometry, 1e-10);
    const [expected] = await runOn('cpu', build);
    for (const backend of backends) assertSameBits((await runOn(backend, build))[0]!, expected!, `${backend} ${key}`);
  }), { numRuns: 40, seed: 20261207 });
});

test('DeepLift max-pool kernel refuses a batch without a reference half and windows outside the input', async () => {
  await runOn('cpu', () => {
    const geometry = { rowStart: Int32Array.of(0), rowEnd: Int32Array.of(1), colStart: Int32Array.of(0), colEnd: Int32Array.of(1) };
    assert.throws(() => deepLiftMaxPoolOp(tf.ones([3, 1, 1, 1]), tf.ones([3, 2, 2, 1]), tf.ones([3, 1, 1, 1]), geometry, 1e-10), /even rows/);
    const outside = { ...geometry, rowEnd: Int32Array.of(2) };
    assert.throws(() => deepLiftMaxPoolOp(tf.ones([2, 1, 1, 1]), tf.ones([2, 2, 2, 1]), tf.ones([2, 1, 1, 1]), outside, 1e-10), /outside the input/);
    return tf.zeros([1]);
  });
});
