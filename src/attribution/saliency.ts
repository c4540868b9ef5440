import * as tf from '@tensorflow/tfjs-core';
import { gradientAttribution } from './common.js';
import { plainRule } from '../nn/index.js';
import type { AttributionMethod } from './types.js';

/** Captum Saliency: the gradient of the target logit, absolute by default (Captum's abs=True); `signed` keeps the sign. */
export const saliency: AttributionMethod = {
  name: 'Saliency',
  random: false,
  appliesTo: () => true,
  attribute: (model, inputs, target, options) =>
    gradientAttribution(model, inputs, target, options, plainRule, (gradient) => (options?.signed ? gradient : tf.abs(gradient))),
};
