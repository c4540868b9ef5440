import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/index.js';
import { internalBatchSize, mapChunks, resolveTargets, toAttribution } from './common.js';
import { layerGradCam, meanGradient } from './guided-gradcam.js';
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
export const gradCam = camMethod('GradCam', meanGradient);

/** pytorch-grad-cam's eps in Grad-CAM++'s α denominator. */
const GRAD_CAM_PP_EPS = 1e-6;

/**
 * Grad-CAM++ (Chattopadhyay et al. 2018, eq. 19, with the exponential-score shortcut that turns the 2nd and 3rd
 * derivatives into powers of the gradient g, as pytorch-grad-cam's GradCAMPlusPlus does): per channel k,
 * α_ij = g² / (2g² + Σ_ab A_k(a, b) · g³ + 1e-6) (0 where g = 0) and w_k = Σ_ij α_ij · ReLU(g_ij); then
 * ReLU(Σ_k w_k A_k) upsampled as Grad-CAM. pytorch-grad-cam also min-max scales each map to [0, 1]; fiveband
 * keeps the raw map, as for Grad-CAM (the scores divide by the maximum anyway). Captum has no Grad-CAM++.
 */
export const gradCamPlusPlus = camMethod('GradCamPlusPlus', (g, activation) => tf.tidy(() => {
  const g2 = tf.square(g);
  const g3 = tf.mul(g2, g);
  const total = tf.sum(activation, [1, 2], true);
  const alpha = tf.div(g2, tf.add(tf.add(tf.mul(2, g2), tf.mul(total, g3)), GRAD_CAM_PP_EPS));
  const kept = tf.where(tf.notEqual(g, 0), alpha, tf.zerosLike(alpha));
  return tf.sum(tf.mul(kept, tf.relu(g)), [1, 2], true);
}));

/** A CAM method: the layer's weighted activation map through a ReLU, upsampled bilinearly to the input. */
function camMethod(name: string, channelWeights: (gradient: tf.Tensor, activation: tf.Tensor) => tf.Tensor): AttributionMethod {
  return {
    name,
    random: false,
    appliesTo: () => true,
    attribute(model, inputs, target, options) {
      const targets = resolveTargets(model, inputs, target);
      const layer = options?.camLayer ?? lastSpatialConv(model);
      const size = model.spec.inputSize;
      return toAttribution(mapChunks(inputs.shape[0], internalBatchSize(options, model), (start, end) => tf.tidy(() => {
        const cam = layerGradCam(model, tf.slice(inputs, [start], [end - start]), targets.slice(start, end), layer, true, channelWeights);
        return tf.image.resizeBilinear(cam, [size, size], false, true);
      })));
    },
  };
}
