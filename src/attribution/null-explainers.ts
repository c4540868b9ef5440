import { UserError } from '../io/index.js';
import { fillNormal } from '../compute/index.js';
import { GROUND_TRUTH_METHOD } from '../scoring/index.js';
import { checkInputs, sampleRng } from './common.js';
import type { AttributeOptions, AttributionMethod, Attribution } from './types.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/index.js';

/**
 * Null explainers: heatmaps that know nothing about the model, scored beside the real methods so a reader sees
 * what chance, an edge detector or a centre bias reach on the same cells. Each gives one channel per sample
 * (n × 1 × N × N) and ignores the target; the model only fixes the input size. GroundTruth is the other end:
 * the truth itself, the best a heatmap can do (its scores are the yardstick's ceiling, not a chance level).
 */
function nullExplainer(name: string, random: boolean, fill: (image: Float32Array, size: number, out: Float32Array, index: number, options?: AttributeOptions) => void): AttributionMethod {
  return {
    name,
    random,
    appliesTo: () => true,
    attribute(model: Model, inputs: tf.Tensor4D, _target, options): Attribution {
      const n = checkInputs(model, inputs);
      const size = model.spec.inputSize;
      const plane = size * size;
      const pixels = inputs.dataSync() as Float32Array;
      const data = new Float32Array(n * plane);
      for (let i = 0; i < n; i++) fill(pixels.subarray(i * plane * 3, (i + 1) * plane * 3), size, data.subarray(i * plane, (i + 1) * plane), i, options);
      return { data, shape: [n, 1, size, size] };
    },
  };
}

/** Uniform noise U[0, 1) per pixel, from the sample's own seeded stream (independent of batching). */
export const nullUniform = nullExplainer('NullUniform', true, (_image, _size, out, index, options) => {
  const rng = sampleRng(options, 'null-uniform', index);
  for (let p = 0; p < out.length; p++) out[p] = rng.next();
});

/** Gaussian noise N(0, 1) per pixel (signed, like a gradient), from the sample's own seeded stream. */
export const nullGaussian = nullExplainer('NullGaussian', true, (_image, _size, out, index, options) => {
  const rng = sampleRng(options, 'null-gaussian', index);
  fillNormal(rng, out);
});

/**
 * The Sobel gradient magnitude of the image's grey level (mean of R, G, B; edges replicated): what an edge
 * detector "explains". Cells are drawn on flat or textured backgrounds, so edges find the cell's outline.
 */
export const nullEdges = nullExplainer('NullEdges', false, (image, size, out) => {
  const grey = (y: number, x: number) => {
    const yy = Math.min(size - 1, Math.max(0, y));
    const xx = Math.min(size - 1, Math.max(0, x));
    const k = 3 * (yy * size + xx);
    return (image[k]! + image[k + 1]! + image[k + 2]!) / 3;
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const gx = grey(y - 1, x + 1) + 2 * grey(y, x + 1) + grey(y + 1, x + 1) - grey(y - 1, x - 1) - 2 * grey(y, x - 1) - grey(y + 1, x - 1);
      const gy = grey(y + 1, x - 1) + 2 * grey(y + 1, x) + grey(y + 1, x + 1) - grey(y - 1, x - 1) - 2 * grey(y - 1, x) - grey(y - 1, x + 1);
      out[y * size + x] = Math.hypot(gx, gy);
    }
  }
});

/** A Gaussian blob at the image centre with σ = N / 6, the same for every sample: a pure centre bias. */
export const nullBlob = nullExplainer('NullBlob', false, (_image, size, out) => {
  const centre = (size - 1) / 2;
  const sigma = size / 6;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) out[y * size + x] = Math.exp(-((x - centre) ** 2 + (y - centre) ** 2) / (2 * sigma * sigma));
  }
});

/** The ground truth itself (0 / 0.4 / 0.9 at the model's input size): the upper bound beside the chance levels. */
export const groundTruth = nullExplainer(GROUND_TRUTH_METHOD, false, (_image, size, out, index, options) => {
  if (options?.truth === undefined) throw new UserError('GroundTruth needs the samples\' ground truth (run it through explain or sanity, which read the dataset)');
  out.set(options.truth.subarray(index * size * size, (index + 1) * size * size));
});

/** Every reference explainer, in the order reports list them: the chance levels (Null…), then the ceiling. */
export const NULL_EXPLAINERS: readonly AttributionMethod[] = [nullUniform, nullGaussian, nullEdges, nullBlob, groundTruth];
