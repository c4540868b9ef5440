import { gradientAttribution } from './common.js';
import { guidedBackpropRule } from './rules.js';
import type { AttributionMethod } from './types.js';

/** Captum GuidedBackprop: the gradient with every ReLU's backward pass replaced by relu(dy · 1[x > 0]). */
export const guidedBackprop: AttributionMethod = {
  name: 'GuidedBackprop',
  random: false,
  appliesTo: () => true,
  attribute: (model, inputs, target, options) =>
    gradientAttribution(model, inputs, target, options, guidedBackpropRule, (gradient) => gradient),
};
