import { gradientAttribution } from './common.js';
import { deconvolutionRule } from './rules.js';
import type { AttributionMethod } from './types.js';

/** Captum Deconvolution: the gradient with every ReLU's backward pass replaced by relu(dy). */
export const deconvolution: AttributionMethod = {
  name: 'Deconvolution',
  random: false,
  appliesTo: () => true,
  attribute: (model, inputs, target, options) =>
    gradientAttribution(model, inputs, target, options, deconvolutionRule, (gradient) => gradient),
};
