import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossEntropy, mabLoss } from '../../src/train/index.js';
import { tf } from './setup.js';

function ceOf(row: number[], label: number): number {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  return lse - row[label]!;
}

test('cross-entropy is the mean of log-sum-exp minus the true logit', () => {
  const logits = [[2, -1, 0.5], [0, 0, 0], [10, 20, -5]];
  const labels = [0, 2, 1];
  const got = crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32')).dataSync()[0]!;
  const expected = logits.reduce((s, row, i) => s + ceOf(row, labels[i]!), 0) / 3;
  assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
  // uniform logits over C classes cost ln C
  const uniform = crossEntropy(tf.zeros([4, 10]), tf.tensor1d([0, 1, 2, 9], 'int32')).dataSync()[0]!;
  assert.ok(Math.abs(uniform - Math.log(10)) < 1e-6);
});

test('mab loss = CE + λ · per-pixel CE over the three bands, averaged over batch and pixels', () => {
  const n = 2;
  const size = 3;
  const heat = Array.from({ length: n * size * size * 3 }, (_, i) => Math.sin(i * 1.7) * 2);
  const bands = Array.from({ length: n * size * size }, (_, i) => (i * 7) % 3);
  const logits = [[1, 0], [0.2, 0.3]];
  const labels = [1, 0];
  const parts = mabLoss(tf.tensor2d(logits), tf.tensor4d(heat, [n, size, size, 3]), tf.tensor1d(labels, 'int32'),
    tf.tensor3d(bands, [n, size, size], 'int32'), 5);
  let pixelSum = 0;
  for (let p = 0; p < n * size * size; p++) pixelSum += ceOf(heat.slice(p * 3, p * 3 + 3), bands[p]!);
  const ce = (ceOf(logits[0]!, 1) + ceOf(logits[1]!, 0)) / 2;
  const mab = pixelSum / (n * size * size);
  assert.ok(Math.abs(parts.ce.dataSync()[0]! - ce) < 1e-5);
  assert.ok(Math.abs(parts.mab.dataSync()[0]! - mab) < 1e-5);
  assert.ok(Math.abs(parts.total.dataSync()[0]! - (ce + 5 * mab)) < 1e-4);
  // untrained: ln 10 + 5 ln 3 (the reference's first loss, spec §6)
  const fresh = mabLoss(tf.zeros([1, 10]), tf.zeros([1, 4, 4, 3]), tf.tensor1d([3], 'int32'), tf.zeros([1, 4, 4], 'int32'), 5);
  assert.ok(Math.abs(fresh.total.dataSync()[0]! - (Math.log(10) + 5 * Math.log(3))) < 1e-5);
});
