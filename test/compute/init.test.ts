import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../src/io/index.js';
import { PATCHED_WASM_KERNELS, backendInfo, initBackend, setWasmKernelPatches } from '../../src/compute/index.js';

test('initBackend is idempotent, serialises switches and reports the backend', async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
  assert.equal(await initBackend('wasm'), 'wasm');
  const [first, second] = await Promise.all([initBackend('cpu'), initBackend('wasm')]);
  assert.equal(first, 'cpu');
  assert.equal(second, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(await backendInfo(), { name: 'wasm', simd: true, threads: 1 });
  assert.equal(await initBackend('cpu'), 'cpu');
  assert.deepEqual(await backendInfo(), { name: 'cpu', simd: false, threads: 1 });
});

test('an unknown backend name is a one-line user error', async () => {
  await assert.rejects(initBackend('webgl' as never), (e: unknown) => e instanceof UserError && e.exitCode === 2 && /webgl.*wasm, cpu/.test(e.message));
});

test('the wasm patches are installed, and setWasmKernelPatches restores the stock set', async () => {
  await initBackend('wasm');
  const patched = PATCHED_WASM_KERNELS.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
  assert.ok(patched.every((f) => f !== undefined));
  setWasmKernelPatches(false);
  try {
    assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'), undefined, 'stock wasm lacks Conv2DBackpropFilter');
    assert.notEqual(tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc, patched[PATCHED_WASM_KERNELS.indexOf(tf.MaxPoolGrad)]);
  } finally {
    setWasmKernelPatches(true);
  }
  assert.deepEqual(PATCHED_WASM_KERNELS.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc), patched);
});
