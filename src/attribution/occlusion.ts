import * as tf from '@tensorflow/tfjs-core';
import { ensure } from '../io/index.js';
import { checkInputs, chunks, internalBatchSize, readTidy, resolveTargets } from './common.js';
import type { AttributionMethod } from './types.js';

/** Window positions along one side: 0, s, 2s, … while the window fits (Captum's sliding windows). */
export function windowStarts(size: number, window: number, stride: number): number[] {
  const starts: number[] = [];
  for (let s = 0; s + window <= size; s += stride) starts.push(s);
  return starts;
}

/**
 * Captum's Occlusion (Zeiler & Fergus 2014): a window × window patch (all three channels) slides over the image
 * with `occlusionStride`; each position is replaced by the baseline 0 and the drop of the target logit,
 * f(x)_t − f(x with the patch occluded)_t, is credited to every element under the patch; an element's attribution
 * is the mean over the windows that cover it (0 where none does, when the stride skips the border). Defaults:
 * window N/8 (16 at 128 px), stride half the window. n × 3 × N × N, as the input.
 */
export const occlusion: AttributionMethod = {
  name: 'Occlusion',
  random: false,
  appliesTo: () => true,
  attribute(model, inputs, target, options) {
    const n = checkInputs(model, inputs);
    const size = model.spec.inputSize;
    const window = options?.occlusionWindow ?? Math.max(1, Math.round(size / 8));
    const stride = options?.occlusionStride ?? Math.max(1, Math.floor(window / 2));
    ensure(Number.isInteger(window) && window >= 1 && window <= size, `occlusion window must be an integer in 1..${size}, got ${window}`);
    ensure(Number.isInteger(stride) && stride >= 1, `occlusion stride must be a positive integer, got ${stride}`);
    const targets = resolveTargets(model, inputs, target);
    const starts = windowStarts(size, window, stride);
    const positions = starts.flatMap((y) => starts.map((x) => [y, x] as const));
    const plane = size * size;
    const pixels = inputs.dataSync() as Float32Array;
    const data = new Float32Array(n * 3 * plane);
    const clean = readTidy(() => model.forward(inputs).logits);
    const classes = model.spec.numClasses;
    for (let i = 0; i < n; i++) {
      const sums = new Float64Array(plane);
      const counts = new Float64Array(plane);
      const full = clean[i * classes + targets[i]!]!;
      for (const [start, end] of chunks(positions.length, internalBatchSize(options, model))) {
        const batch = new Float32Array((end - start) * plane * 3);
        for (let k = start; k < end; k++) {
          const row = batch.subarray((k - start) * plane * 3, (k - start + 1) * plane * 3);
          row.set(pixels.subarray(i * plane * 3, (i + 1) * plane * 3));
          const [y0, x0] = positions[k]!;
          for (let y = y0; y < y0 + window; y++) row.fill(0, 3 * (y * size + x0), 3 * (y * size + x0 + window));
        }
        const logits = readTidy(() => model.forward(tf.tensor4d(batch, [end - start, size, size, 3])).logits);
        for (let k = start; k < end; k++) {
          const drop = full - logits[(k - start) * classes + targets[i]!]!;
          const [y0, x0] = positions[k]!;
          for (let y = y0; y < y0 + window; y++) {
            for (let x = x0; x < x0 + window; x++) {
              sums[y * size + x] = sums[y * size + x]! + drop;
              counts[y * size + x] = counts[y * size + x]! + 1;
            }
          }
        }
      }
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < plane; p++) data[(i * 3 + c) * plane + p] = counts[p]! > 0 ? sums[p]! / counts[p]! : 0;
      }
    }
    return { data, shape: [n, 3, size, size] };
  },
};
