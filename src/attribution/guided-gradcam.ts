import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../io/index.js';
import type { Model } from '../nn/index.js';
import { inputGradient, internalBatchSize, mapChunks, resolveTargets, targetScore, toAttribution } from './common.js';
import { guidedBackpropRule } from './rules.js';
import type { AttributionMethod } from './types.js';

/** Grad-CAM's channel weights: the spatial mean of d target / d activation, [n, 1, 1, c]. */
export const meanGradient = (gradient: tf.Tensor): tf.Tensor => tf.mean(gradient, [1, 2], true);

/**
 * Captum LayerGradCam on the output of `layer` for rows `x`: Σ_channels weight · activation, as [n, h, w, 1]
 * (NHWC), optionally through a ReLU. The weights come from the gradient and the activation (both [n, h, w, c]);
 * by default the spatial mean of the gradient (Grad-CAM), Grad-CAM++ passes its own.
 */
export function layerGradCam(
  model: Model, x: tf.Tensor4D, targets: readonly number[], layer: string, relu: boolean,
  channelWeights: (gradient: tf.Tensor, activation: tf.Tensor) => tf.Tensor = meanGradient,
): tf.Tensor4D {
  if (!model.layerNames.includes(layer)) {
    throw new UserError(`unknown layer "${layer}"; the model's layers are: ${model.layerNames.join(', ')}`);
  }
  const shape = layerShape(model, layer, x);
  if (shape.length !== 4) throw new UserError(`layer "${layer}" is not a spatial (convolutional) layer`);
  // One forward pass: the tap keeps the activation the gradient is taken at (kept past tf.grad's scope).
  let activation: tf.Tensor | undefined;
  try {
    return tf.tidy(() => {
      const gradient = tf.grad((zero: tf.Tensor) => targetScore(model.forward(x, {
        taps: { [layer]: (a) => { activation = tf.keep(a); return tf.add(a, zero); } },
      }).logits, targets))(tf.zeros([x.shape[0], ...shape.slice(1)]));
      if (!activation) throw new Error(`layer ${layer} was not tapped by the model's forward pass`);
      const weights = channelWeights(gradient, activation);
      const cam = tf.sum(tf.mul(weights, activation), 3, true) as tf.Tensor4D;
      return relu ? tf.relu(cam) : cam;
    });
  } finally {
    activation?.dispose(); // kept past the tidy above, so released by hand
  }
}

/** A layer's output shape (batch 1) for inputs shaped as `x`, found once per model, layer and input size by a tapped forward pass. */
function layerShape(model: Model, layer: string, x: tf.Tensor4D): number[] {
  const key = `${layer} ${x.shape[1]}x${x.shape[2]}`;
  let shapes = layerShapes.get(model);
  if (shapes === undefined) layerShapes.set(model, (shapes = new Map()));
  let shape = shapes.get(key);
  if (shape === undefined) {
    tf.tidy(() => {
      model.forward(tf.slice(x, [0], [1]), { taps: { [layer]: (a) => { shape = a.shape; return a; } } });
    });
    if (shape === undefined) throw new Error(`layer ${layer} was not tapped by the model's forward pass`);
    shapes.set(key, shape);
  }
  return shape;
}

const layerShapes = new WeakMap<Model, Map<string, number[]>>();

/**
 * Source index of every output index for PyTorch's `interpolate(mode='nearest')` given a size:
 * floor(i · (in / out)) in float32, capped at in − 1 (exact shortcuts for equal size and 2×, as PyTorch).
 */
export function nearestIndices(inSize: number, outSize: number): number[] {
  const scale = Math.fround(inSize / outSize);
  return Array.from({ length: outSize }, (_, i) => {
    if (outSize === inSize) return i;
    if (outSize === 2 * inSize) return i >> 1;
    return Math.min(Math.floor(Math.fround(i * scale)), inSize - 1);
  });
}

/**
 * Captum GuidedGradCam: ReLU(LayerGradCam(layer)) upsampled to the input size with nearest interpolation,
 * times GuidedBackprop. Layer: the model's first convolution (the reference's `select_first_layer`) unless
 * `options.layer` names another.
 */
export const guidedGradCam: AttributionMethod = {
  name: 'GuidedGradCam',
  random: false,
  appliesTo: () => true,
  attribute(model, inputs, target, options) {
    const targets = resolveTargets(model, inputs, target);
    const layer = options?.layer ?? model.firstConv;
    const size = model.spec.inputSize;
    return toAttribution(mapChunks(inputs.shape[0], internalBatchSize(options, model), (start, end) => tf.tidy(() => {
      const x = tf.slice(inputs, [start], [end - start]);
      const rowTargets = targets.slice(start, end);
      const cam = layerGradCam(model, x, rowTargets, layer, true);
      const upsampled = tf.gather(tf.gather(cam, nearestIndices(cam.shape[1], size), 1), nearestIndices(cam.shape[2], size), 2);
      return tf.mul(inputGradient(model, x, rowTargets, guidedBackpropRule), upsampled) as tf.Tensor4D;
    })));
  },
};
