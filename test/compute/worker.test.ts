import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/compute/index.js';
import { assertClose, convStepGradients } from './compare.js';

interface WorkerResult {
  name: string;
  info: { name: string; simd: boolean; threads: number };
  grads: number[][];
  numTensors: number;
}

/** The worker imports the compiled backend and test helpers by URL, as a worker pool's task module would. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const backend = await import(workerData.backendUrl);
  const helpers = await import(workerData.helpersUrl);
  const tf = await import(workerData.tfjsUrl);
  const name = await backend.initBackend(workerData.backend);
  const grads = helpers.convStepGradients();
  parentPort.postMessage({ name, info: await backend.backendInfo(), grads, numTensors: tf.memory().numTensors });
})();
`;

function runWorker(backend: 'wasm' | 'cpu'): Promise<WorkerResult> {
  const workerData = {
    backend,
    backendUrl: new URL('../../src/compute/index.js', import.meta.url).href,
    helpersUrl: new URL('./compare.js', import.meta.url).href,
    tfjsUrl: import.meta.resolve('@tensorflow/tfjs-core'),
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.once('message', (message: WorkerResult) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test('initBackend works inside worker threads (compiled code); wasm there runs SIMD, one thread, same gradients', async () => {
  const [wasm, cpu] = await Promise.all([runWorker('wasm'), runWorker('cpu')]);
  assert.equal(wasm.name, 'wasm');
  assert.deepEqual(wasm.info, { name: 'wasm', simd: true, threads: 1 });
  assert.equal(cpu.name, 'cpu');
  assert.equal(wasm.numTensors, 0);
  wasm.grads.forEach((g, i) => assertClose(Float32Array.from(g), Float32Array.from(cpu.grads[i]!), 1e-4, `gradient ${i}`));
  // Each thread has its own wasm instance; the main thread's gives bit-identical numbers.
  await initBackend('wasm');
  const main = convStepGradients();
  assert.equal(tf.getBackend(), 'wasm');
  main.forEach((g, i) => assert.deepEqual(g, wasm.grads[i]));
});
