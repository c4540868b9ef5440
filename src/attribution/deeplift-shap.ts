import * as tf from '@tensorflow/tfjs-core';
import { internalBatchSize, mapChunks, resolveTargets, shapBaselineCount, shapBaselines, toAttribution } from './common.js';
import { deepLiftContributions } from './deeplift.js';
import type { AttributionMethod } from './types.js';

/**
 * Captum DeepLiftShap: DeepLift of each sample against each of its k baselines (reference: 4 × N(0, 1) ×
 * 0.001, fresh per sample), averaged over the baselines. Rows are laid out as Captum does (each input
 * repeated k times against baselines 1..k), whole samples per pass.
 */
export const deepLiftShap: AttributionMethod = {
  name: 'DeepLiftShap',
  random: true,
  appliesTo: () => true,
  attribute(model, inputs, target, options) {
    const targets = resolveTargets(model, inputs, target);
    const size = model.spec.inputSize;
    const k = shapBaselineCount(options, size);
    const samplesPerPass = Math.max(1, Math.floor(internalBatchSize(options, model) / (2 * k)));
    return toAttribution(mapChunks(inputs.shape[0], samplesPerPass, (start, end) => tf.tidy(() => {
      const samples = Array.from({ length: end - start }, (_, i) => start + i);
      const x = tf.gather(inputs, samples.flatMap((i) => Array<number>(k).fill(i)));
      const b = tf.concat(samples.map((i) => shapBaselines(options, i, size)), 0);
      const rowTargets = samples.flatMap((i) => Array<number>(k).fill(targets[i]!));
      const contributions = deepLiftContributions(model, x, b, rowTargets, samples.length);
      return tf.mean(tf.reshape(contributions, [samples.length, k, size, size, 3]), 1) as tf.Tensor4D;
    })));
  },
};
