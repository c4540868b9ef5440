import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/index.js';
import { internalBatchSize, mapChunks, resolveTargets, targetScore, toAttribution } from './common.js';
import { DeepLiftRescaleRule } from './rules.js';
import type { AttributionMethod } from './types.js';

/**
 * DeepLift contributions (x − b) · m of the rows `x` against their references `b` (same shape), where m is
 * the gradient under the rescale rule. As Captum, the model runs once on [x; b] and the differentiated score
 * is the target logit of both halves (Captum selects the target on the concatenated output); `groups` is the
 * number of original samples the rows belong to (for the softmax rule's per-sample normalisation).
 */
export function deepLiftContributions(model: Model, x: tf.Tensor4D, b: tf.Tensor4D, targets: readonly number[], groups: number): tf.Tensor4D {
  return tf.tidy(() => {
    const rule = new DeepLiftRescaleRule(groups);
    const both = tf.concat([x, b], 0);
    const gradient = tf.grad((input: tf.Tensor) => targetScore(model.forward(input as tf.Tensor4D, { rule }).logits, [...targets, ...targets]))(both);
    return tf.mul(tf.sub(x, b), tf.slice(gradient, [0], [x.shape[0]])) as tf.Tensor4D;
  });
}

/** Captum DeepLift with the reference's arguments: rescale rule, zero baseline, multiplied by (x − baseline). */
export const deepLift: AttributionMethod = {
  name: 'DeepLift',
  random: false,
  appliesTo: () => true,
  attribute(model, inputs, target, options) {
    const targets = resolveTargets(model, inputs, target);
    const samplesPerPass = Math.max(1, Math.floor(internalBatchSize(options, model) / 2));
    return toAttribution(mapChunks(inputs.shape[0], samplesPerPass, (start, end) => tf.tidy(() => {
      const x = tf.slice(inputs, [start], [end - start]);
      return deepLiftContributions(model, x, tf.zerosLike(x), targets.slice(start, end), end - start);
    })));
  },
};
