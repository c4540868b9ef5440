import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend, loadNativeAddon } from '../../src/compute/index.js';
import { Rng } from '../../src/rng/index.js';

/** Seeded standard-normal values (shared by both backends so they see identical inputs). */
export function randomValues(seed: string, shape: number[], scale = 1, shift = 0): Float32Array {
  const rng = Rng.derive(7, 'backend-test', seed);
  const out = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < out.length; i++) out[i] = rng.normal(shift, scale);
  return out;
}

/** Runs `build` on `backend` and returns its outputs' values; tensors made inside are freed. */
export async function runOn(backend: BackendName, build: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend);
  const outputs = tf.tidy(() => {
    const out = build();
    return Array.isArray(out) ? out : [out];
  });
  const values = await Promise.all(outputs.map((t) => t.data()));
  tf.dispose(outputs);
  return values.map((v) => Float32Array.from(v as ArrayLike<number>));
}

/** Element-wise |a − b| ≤ tol · max(1, max|b|), with the worst element in the message. */
export function assertClose(actual: Float32Array, expected: Float32Array, tol: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol * scale, `${label}: max |diff| ${worst} at ${at} (actual ${actual[at]}, expected ${expected[at]}, scale ${scale})`);
}

/** Runs `build` on cpu (the oracle) and on wasm and compares every output. */
export function assertWasmMatchesCpu(label: string, build: () => tf.Tensor | tf.Tensor[], tol = 1e-4): Promise<void> {
  return assertMatchesCpu('wasm', label, build, tol);
}

/** Gradients of a strided conv → maxPool → squared loss w.r.t. its input and filter, as plain arrays. */
export function convStepGradients(): number[][] {
  const grads = tf.tidy(() => {
    const x = tf.tensor4d(randomValues('worker/x', [2, 9, 9, 3]), [2, 9, 9, 3]);
    const w = tf.tensor4d(randomValues('worker/w', [3, 3, 3, 4]), [3, 3, 3, 4]);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.square(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), 2, 2, 'valid'))))([x, w]);
  });
  const values = grads.map((g) => Array.from(g.dataSync()));
  tf.dispose(grads);
  return values;
}

/**
 * The gradient of Σ op(x)·weights w.r.t. x for a per-image linear op, computed from the forward alone: column i
 * of the op's matrix is op applied to the i-th unit image. `weights` is [n, ...outShape]; returns [n, h·w·c].
 */
export function adjointByImpulses(op: (x: tf.Tensor4D) => tf.Tensor4D, imageShape: [number, number, number], weights: tf.Tensor): tf.Tensor {
  const size = imageShape[0] * imageShape[1] * imageShape[2];
  const impulses = tf.reshape(tf.cast(tf.oneHot(tf.range(0, size, 1, 'int32'), size), 'float32'), [size, ...imageShape]) as tf.Tensor4D;
  const columns = tf.reshape(op(impulses), [size, -1]);
  return tf.matMul(tf.reshape(weights, [weights.shape[0]!, -1]), columns, false, true);
}

/**
 * Whether the native backend's addon is built here. Its tests are registered always and skipped by name without
 * it, unless FIVEBAND_NATIVE=required (CI), where a missing addon fails them.
 */
export const nativeBuilt = !('error' in loadNativeAddon());
export const needsNative: { skip?: string } = nativeBuilt || process.env.FIVEBAND_NATIVE === 'required' ? {} : { skip: 'native backend not built (libdnnl-dev)' };

/** The backends checked against the cpu oracle, with the node:test options each needs. */
export const FAST_BACKENDS: readonly { name: 'wasm' | 'native'; options: { skip?: string } }[] = [
  { name: 'wasm', options: {} },
  { name: 'native', options: needsNative },
];

/** Runs `build` on cpu (the oracle) and on `backend` and compares every output. */
export async function assertMatchesCpu(backend: BackendName, label: string, build: () => tf.Tensor | tf.Tensor[], tol = 1e-4): Promise<void> {
  const expected = await runOn('cpu', build);
  const actual = await runOn(backend, build);
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assertClose(a, expected[i]!, tol, `${label} [output ${i}] on ${backend}`));
}
