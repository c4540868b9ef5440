import * as tf from '@tensorflow/tfjs-core';
import { ensure } from '../io/index.js';
import { inputGradient, internalBatchSize, mapChunks, resolveTargets, sampleRng, shapBaselines, toAttribution } from './common.js';
import type { AttributionMethod } from './types.js';

/**
 * Captum GradientShap with the reference's arguments (n_samples 5, stdevs 0, so no input noise): per
 * sample, each draw picks one of its baselines b uniformly with replacement and alpha ~ U(0, 1), and
 * contributes (x − b) · ∇f(alpha·x + (1 − alpha)·b); the draws are averaged. Baselines and draws come from
 * the sample's own seeded streams.
 */
export const gradientShap: AttributionMethod = {
  name: 'GradientShap',
  random: true,
  appliesTo: () => true,
  attribute(model, inputs, target, options) {
    const targets = resolveTargets(model, inputs, target);
    const size = model.spec.inputSize;
    const draws = options?.shapSamples ?? 5;
    ensure(Number.isInteger(draws) && draws >= 1, `GradientShap needs a positive integer number of samples, got ${draws}`);
    const samplesPerPass = Math.max(1, Math.floor(internalBatchSize(options, model) / draws));
    return toAttribution(mapChunks(inputs.shape[0], samplesPerPass, (start, end) => tf.tidy(() => {
      const samples = Array.from({ length: end - start }, (_, i) => start + i);
      const rows: { sample: number; baseline: tf.Tensor; alpha: number }[] = [];
      for (const i of samples) {
        const baselines = shapBaselines(options, i, size);
        const rng = sampleRng(options, 'GradientShap-draws', i);
        for (let d = 0; d < draws; d++) {
          const index = rng.int(0, baselines.shape[0]);
          rows.push({ sample: i, baseline: tf.slice(baselines, [index], [1]), alpha: rng.next() });
        }
      }
      const x = tf.gather(inputs, rows.map((r) => r.sample));
      const b = tf.concat(rows.map((r) => r.baseline), 0) as tf.Tensor4D;
      const alpha = tf.tensor4d(rows.map((r) => r.alpha), [rows.length, 1, 1, 1]);
      const scaled = tf.add(tf.mul(alpha, x), tf.mul(tf.sub(1, alpha), b)) as tf.Tensor4D;
      const gradient = inputGradient(model, scaled, rows.map((r) => targets[r.sample]!));
      const contributions = tf.mul(tf.sub(x, b), gradient);
      return tf.mean(tf.reshape(contributions, [samples.length, draws, size, size, 3]), 1) as tf.Tensor4D;
    })));
  },
};
