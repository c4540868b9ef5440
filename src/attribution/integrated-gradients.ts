import * as tf from '@tensorflow/tfjs-core';
import { ensure } from '../io/index.js';
import { chunks, inputGradient, internalBatchSize, resolveTargets, toAttribution } from './common.js';
import { gaussLegendre01 } from './gauss-legendre.js';
import type { AttributionMethod } from './types.js';

/**
 * Captum IntegratedGradients with the reference's arguments: zero baseline, 50 steps, Gauss–Legendre
 * points. attribution = (x − 0) · Σ_i step_i · ∇f(alpha_i · x). The n × steps expanded rows run
 * `internalBatchSize` at a time (Captum's internal_batch_size; the sum is the same).
 */
export const integratedGradients: AttributionMethod = {
  name: 'IntegratedGradients',
  random: false,
  appliesTo: () => true,
  attribute(model, inputs, target, options) {
    const targets = resolveTargets(model, inputs, target);
    const n = inputs.shape[0];
    const stepCount = options?.steps ?? 50;
    ensure(Number.isInteger(stepCount) && stepCount >= 1, `IntegratedGradients needs a positive integer number of steps, got ${stepCount}`);
    const { alphas, steps } = gaussLegendre01(stepCount);
    let total: tf.Tensor4D = tf.zerosLike(inputs);
    for (const [start, end] of chunks(n * stepCount, internalBatchSize(options, model))) {
      const rows = Array.from({ length: end - start }, (_, r) => start + r);
      const next = tf.tidy(() => {
        const sample = rows.map((row) => Math.floor(row / stepCount));
        const alpha = tf.tensor4d(rows.map((row) => alphas[row % stepCount]!), [rows.length, 1, 1, 1]);
        const step = tf.tensor4d(rows.map((row) => steps[row % stepCount]!), [rows.length, 1, 1, 1]);
        const scaled = tf.mul(alpha, tf.gather(inputs, sample)) as tf.Tensor4D;
        const gradient = inputGradient(model, scaled, sample.map((i) => targets[i]!));
        return tf.add(total, tf.unsortedSegmentSum(tf.mul(gradient, step), tf.tensor1d(sample, 'int32'), n)) as tf.Tensor4D;
      });
      total.dispose();
      total = next;
    }
    const attribution = tf.mul(total, inputs) as tf.Tensor4D;
    total.dispose();
    return toAttribution(attribution);
  },
};
