import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertWasmMatchesCpu, randomValues } from './compare.js';

interface ReduceCase {
  name: string;
  shape: number[];
  axis: number[];
}

const CASES: ReduceCase[] = [
  { name: 'bias gradient NHWC (axes 0,1,2)', shape: [3, 7, 6, 5], axis: [0, 1, 2] },
  { name: 'negative, unordered axes (-2,-4,-3)', shape: [2, 5, 4, 3], axis: [-2, -4, -3] },
  { name: 'dense bias gradient (axis 0)', shape: [9, 13], axis: [0] },
  { name: 'bias gradient, 8 channels (SIMD), several row blocks', shape: [4, 30, 20, 8], axis: [0, 1, 2] },
  { name: 'dense bias gradient, 12 columns (SIMD)', shape: [9, 12], axis: [0] },
  { name: 'rank 5, leading two', shape: [2, 3, 4, 2, 3], axis: [0, 1] },
  { name: 'non-leading axes (stock path)', shape: [2, 5, 4, 3], axis: [1, 2] },
  { name: 'all axes (stock path)', shape: [4, 5, 3], axis: [0, 1, 2] },
];

for (const c of CASES) {
  for (const keepDims of [false, true]) {
    test(`Sum and Mean wasm = cpu: ${c.name}, keepDims ${keepDims}`, async () => {
      const values = randomValues(`reduce/${c.name}`, c.shape, 1, 0.5);
      await assertWasmMatchesCpu(c.name, () => {
        const x = tf.tensor(values, c.shape);
        return [tf.sum(x, c.axis, keepDims), tf.mean(x, c.axis, keepDims)];
      }, 1e-6);
    });
  }
}

test('Sum wasm = cpu over a large leading extent (accumulation accuracy) and for int32 (stock path)', async () => {
  const values = randomValues('reduce/large', [64, 128, 8], 1, 3);
  await assertWasmMatchesCpu('large', () => tf.sum(tf.tensor3d(values, [64, 128, 8]), [0, 1]), 1e-6);
  const ints = Int32Array.from({ length: 4 * 5 * 3 }, (_, i) => (i * 37) % 11 - 5);
  await assertWasmMatchesCpu('int32', () => tf.cast(tf.sum(tf.tensor3d(ints, [4, 5, 3], 'int32'), [0, 1]), 'float32'), 0);
});
