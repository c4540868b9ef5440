import * as tf from '@tensorflow/tfjs-core';
import { gradientAttribution } from './common.js';
import { plainRule } from '../nn/index.js';
import type { AttributionMethod } from './types.js';

/** Captum InputXGradient: input × gradient of the target logit. */
export const inputXGradient: AttributionMethod = {
  name: 'InputXGradient',
  random: false,
  appliesTo: () => true,
  attribute: (model, inputs, target, options) =>
    gradientAttribution(model, inputs, target, options, plainRule, (gradient, x) => tf.mul(x, gradient)),
};
