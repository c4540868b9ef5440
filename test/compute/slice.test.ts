import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertWasmMatchesCpu, randomValues } from './compare.js';

interface SliceCase {
  name: string;
  shape: number[];
  begin: number[];
  size: number[];
}

const CASES: SliceCase[] = [
  { name: 'channel half of NHWC (short runs)', shape: [2, 5, 6, 8], begin: [0, 0, 0, 4], size: [2, 5, 6, 4] },
  { name: 'top-left crop, all channels (runs of width·c)', shape: [2, 9, 9, 3], begin: [0, 0, 0, 0], size: [2, 7, 7, 3] },
  { name: 'interior box, some channels', shape: [3, 8, 7, 5], begin: [1, 2, 1, 1], size: [2, 4, 5, 3] },
  { name: 'long rows (bulk copies)', shape: [2, 3, 200], begin: [0, 1, 10], size: [2, 2, 150] },
  { name: 'rank 2 columns', shape: [6, 9], begin: [1, 3], size: [4, 2] },
  { name: 'rank 5, inner axes whole', shape: [2, 3, 4, 2, 3], begin: [0, 1, 0, 0, 0], size: [2, 2, 4, 2, 3] },
  { name: 'rank 6', shape: [2, 2, 3, 2, 3, 4], begin: [1, 0, 1, 0, 1, 1], size: [1, 2, 2, 2, 2, 2] },
  { name: 'contiguous (stock path)', shape: [4, 3, 5], begin: [1, 0, 0], size: [2, 3, 5] },
];

for (const c of CASES) {
  test(`Slice wasm = cpu: ${c.name}`, async () => {
    const values = randomValues(`slice/${c.name}`, c.shape);
    await assertWasmMatchesCpu(c.name, () => tf.slice(tf.tensor(values, c.shape), c.begin, c.size), 0);
  });
}

test('Slice wasm = cpu for int32 and bool tensors', async () => {
  const ints = Int32Array.from({ length: 2 * 4 * 5 * 3 }, (_, i) => (i * 7919) % 101 - 50);
  await assertWasmMatchesCpu('int32', () => tf.cast(tf.slice(tf.tensor4d(ints, [2, 4, 5, 3], 'int32'), [0, 1, 1, 1], [2, 2, 3, 2]), 'float32'), 0);
  await assertWasmMatchesCpu('bool', () => tf.cast(tf.slice(tf.greater(tf.tensor4d(ints, [2, 4, 5, 3], 'int32'), 0), [1, 0, 2, 0], [1, 4, 3, 2]), 'float32'), 0);
});
