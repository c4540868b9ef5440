import type * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/nn/backend/index.js';

/** Most tests run on the pure-JS cpu backend (the reference for the wasm one). */
export async function useCpu(): Promise<void> {
  await initBackend('cpu');
}

/** Asserts |a − b| ≤ atol + rtol·|b| element-wise, reporting the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, label = ''): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (!(excess <= worstExcess)) {
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
      worst = i;
    }
  }
  assert.ok(worst < 0, `${label}: element ${worst} is ${actual[worst]} but expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
}

export function sum(values: ArrayLike<number>, start = 0, end = values.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += values[i]!;
  return s;
}

/** The model's target logit for each sample. */
export function targetLogits(logits: tf.Tensor2D, targets: readonly number[]): number[] {
  const v = logits.dataSync();
  const c = logits.shape[1];
  return targets.map((t, i) => v[i * c + t]!);
}
