import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/index.js';
import { internalBatchSize, mapChunks, resolveTargets, toAttribution } from './common.js';
import { layerGradCam } from './guided-gradcam.js';
import type { AttributionMethod } from './types.js';

/**
 * The last convolution whose output is still spatial (more than 1×1) and feeds the logits: Grad-CAM's usual layer
 * (Selvaraju et al.; pytorch-grad-cam's defaults: VGG's last conv, ResNet's last block). SPA's heatmap head is
 * skipped: the class logits do not depend on it. Found by a forward pass with taps and a gradient probe.
 */
export function lastSpatialConv(model: Model): string {
  let layer = camLayers.get(model);
  if (layer === undefined) camLayers.set(model, (layer = findLastSpatialConv(model)));
  return layer;
}

/** The default layer per model, found once (every attribute call of a run asks again). */
const camLayers = new WeakMap<Model, string>();

function findLastSpatialConv(model: Model): string {
  const convs = [...model.trainable].filter(([, v]) => v.rank === 4).map(([name]) => name.slice(0, name.lastIndexOf('.')))
    .filter((module) => model.layerNames.includes(module));
  const size = model.spec.inputSize;
  const heights = new Map<string, number>();
  tf.tidy(() => {
    model.forward(tf.zeros([1, size, size, 3]) as tf.Tensor4D, {
      taps: Object.fromEntries(convs.map((c) => [c, (a: tf.Tensor) => { heights.set(c, a.shape[1] ?? 0); return a; }])),
    });
  });
  const feedsLogits = (layer: string) => tf.tidy(() => {
    const x = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
    let shape: number[] = [];
    model.forward(x, { taps: { [layer]: (a) => { shape = a.shape; return a; } } });
    try {
      tf.grad((zero: tf.Tensor) => tf.sum(model.forward(x, { taps: { [layer]: (a) => tf.add(a, zero) } }).logits))(tf.zeros(shape));
      return true;
    } catch {
      return false; // tfjs: "Cannot compute gradient of y=f(x) with respect to x"
    }
  });
  return convs.filter((c) => (heights.get(c) ?? 0) > 1).reverse().find(feedsLogits) ?? model.firstConv;
}

/**
 * Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k α_k A_k) at a convolution's output A, with α_k the spatial mean of
 * d target / d A_k — Captum's LayerGradCam with relu_attributions=True — upsampled to the input by bilinear
 * interpolation (PyTorch's align_corners=False, as Captum's LayerAttribution.interpolate(mode="bilinear") and
 * pytorch-grad-cam show it). One channel, n × 1 × N × N. Layer: `options.camLayer`, else the last spatial convolution.
 */
export const gradCam: AttributionMethod = {
  name: 'GradCam',
  random: false,
  appliesTo: () => true,
  attribute(model, inputs, target, options) {
    const targets = resolveTargets(model, inputs, target);
    const layer = options?.camLayer ?? lastSpatialConv(model);
    const size = model.spec.inputSize;
    return toAttribution(mapChunks(inputs.shape[0], internalBatchSize(options, model), (start, end) => tf.tidy(() => {
      const cam = layerGradCam(model, tf.slice(inputs, [start], [end - start]), targets.slice(start, end), layer, true);
      return tf.image.resizeBilinear(cam, [size, size], false, true);
    })));
  },
};
