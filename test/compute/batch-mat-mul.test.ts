import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, setWasmKernelPatches } from '../../src/compute/index.js';
import { assertClose, assertWasmMatchesCpu, randomValues, runOn } from './compare.js';

interface MatMulCase {
  name: string;
  /** Batch dims of a and b (broadcast against each other). */
  batchA: number[];
  batchB: number[];
  m: number;
  k: number;
  n: number;
}

// Products of at least 256K multiply-adds take the patched path; smaller ones stay stock (also checked).
const CASES: MatMulCase[] = [
  { name: 'dense weight gradient shape, small K (= batch)', batchA: [], batchB: [], m: 576, k: 4, n: 256 },
  { name: 'dense input gradient shape', batchA: [], batchB: [], m: 4, k: 256, n: 576 },
  { name: 'odd sizes, K 1', batchA: [], batchB: [], m: 531, k: 1, n: 517 },
  { name: 'rank-3 batch of 1', batchA: [1], batchB: [1], m: 70, k: 33, n: 129 },
  { name: 'batch 3, K 5', batchA: [3], batchB: [3], m: 130, k: 5, n: 410 },
  { name: 'batch broadcast: a one matrix', batchA: [1], batchB: [3], m: 90, k: 17, n: 200 },
  { name: 'batch broadcast: b rank 2', batchA: [2, 2], batchB: [], m: 100, k: 9, n: 300 },
  { name: 'batch broadcast: b batch dims a suffix of a', batchA: [2, 3], batchB: [3], m: 64, k: 70, n: 65 },
  { name: 'dense forward, weights far larger than the rows', batchA: [], batchB: [], m: 6, k: 301, n: 599 },
  { name: 'small product (stays stock)', batchA: [2], batchB: [2], m: 5, k: 7, n: 6 },
  { name: 'small product, a broadcast (stays stock)', batchA: [1], batchB: [3], m: 5, k: 7, n: 6 },
  { name: 'small product, b broadcast (stays stock)', batchA: [2, 3], batchB: [], m: 4, k: 3, n: 5 },
];

for (const c of CASES) {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const label = `BatchMatMul wasm = cpu: ${c.name}, transposeA ${transposeA}, transposeB ${transposeB}`;
      test(label, async () => {
        const shapeA = [...c.batchA, ...(transposeA ? [c.k, c.m] : [c.m, c.k])];
        const shapeB = [...c.batchB, ...(transposeB ? [c.n, c.k] : [c.k, c.n])];
        const va = randomValues(`${label}/a`, shapeA);
        const vb = randomValues(`${label}/b`, shapeB);
        await assertWasmMatchesCpu(label, () => tf.matMul(tf.tensor(va, shapeA), tf.tensor(vb, shapeB), transposeA, transposeB), 1e-5);
      });
    }
  }
}

test('BatchMatMul patch: same values as stock wasm, no leaked tensors or wasm memory', async () => {
  await initBackend('wasm');
  const a = randomValues('stock/a', [3, 40, 300]);
  const b = randomValues('stock/b', [3, 500, 40]);
  const product = () => tf.matMul(tf.tensor3d(a, [3, 40, 300]), tf.tensor3d(b, [3, 500, 40]), true, true);
  const [patched] = await runOn('wasm', product);
  setWasmKernelPatches(false);
  try {
    const [stock] = await runOn('wasm', product);
    assert.ok(patched!.every((v, i) => Math.abs(v - stock![i]!) <= 1e-4 * Math.max(1, Math.abs(stock![i]!))));
  } finally {
    setWasmKernelPatches(true);
  }
  await runOn('wasm', product); // warm-up: the heap reaches its working size
  const tensors = tf.memory().numTensors;
  const bytes = tf.memory().numBytes;
  const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  for (let i = 0; i < 5; i++) await runOn('wasm', product);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.memory().numBytes, bytes);
  assert.equal((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length, heap);
});

test('BatchMatMul: a dense forward with the same weights again (swapped form first, then stock\'s cached packing) = cpu', async () => {
  const [m, k, n] = [5, 403, 517];
  const va = randomValues('repeat/a', [m, k]);
  const vb = randomValues('repeat/b', [k, n]);
  const results: Float32Array[][] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    results.push(await runOn(backend, () => {
      const a = tf.tensor2d(va, [m, k]), b = tf.tensor2d(vb, [k, n]);
      return [0, 1, 2].map(() => tf.matMul(a, b));
    }));
  }
  const [cpu, wasm] = results as [Float32Array[], Float32Array[]];
  for (let call = 0; call < 3; call++) assertClose(wasm[call]!, cpu[call]!, 1e-5, `call ${call}`);
});
