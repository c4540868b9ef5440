import type * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeSafetensors, type Tensor } from '../../src/io/index.js';
import { initBackend } from '../../src/compute/index.js';

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

/** ‖a − b‖ / ‖b‖. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** A committed fixture under test/attribution/fixtures: its tensors by name (a missing one fails), their names, metadata. */
export function readFixture(file: string): { tensor: (name: string) => Tensor; f32: (name: string) => Float32Array; names: string[]; metadata: Record<string, string> } {
  const fixture = decodeSafetensors(new Uint8Array(readFileSync(new URL(`../../../test/attribution/fixtures/${file}`, import.meta.url))));
  const tensor = (name: string): Tensor => {
    const found = fixture.tensors[name];
    assert.ok(found, `${file} lacks ${name}`);
    return found;
  };
  return { tensor, f32: (name) => tensor(name).data as Float32Array, names: Object.keys(fixture.tensors), metadata: fixture.metadata ?? {} };
}
