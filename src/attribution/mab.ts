import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../io/index.js';
import { checkInputs, internalBatchSize, chunks, readTidy } from './common.js';
import type { AttributionMethod } from './types.js';

/** The heatmap values of the three bands (reference: 0, 0.4, 0.9). */
export const MAB_BAND_VALUES = [0, 0.4, 0.9] as const;

/**
 * The decoded mabCAM heatmap (spec §4.3): argmax over the three heatmap-logit channels (first maximum, as
 * torch.argmax), mapped to 0 / 0.4 / 0.9; 1 × N × N per sample. Needs a model with a heatmap head (SPA);
 * the target is not used.
 */
export const mab: AttributionMethod = {
  name: 'mab',
  random: false,
  appliesTo: (arch) => arch === 'spa',
  attribute(model, inputs) {
    const n = checkInputs(model, inputs);
    const size = model.spec.inputSize;
    const data = new Float32Array(n * size * size);
    for (const [start, end] of chunks(n, internalBatchSize(undefined, model))) {
      const logits = readTidy(() => {
        const heatmap = model.forward(tf.slice(inputs, [start], [end - start])).heatmapLogits;
        if (!heatmap) throw new UserError('mab needs a model with a heatmap head (SPA)');
        return heatmap;
      });
      decodeBands(logits, data.subarray(start * size * size, end * size * size));
    }
    return { data, shape: [n, 1, size, size] };
  },
};

/** NHWC heatmap logits (3 channels) → band values, written into `out` (one value per pixel). */
export function decodeBands(logits: Float32Array, out: Float32Array): void {
  for (let p = 0; p < out.length; p++) {
    const [a, b, c] = [logits[3 * p]!, logits[3 * p + 1]!, logits[3 * p + 2]!];
    let band = 0;
    if (b > a) band = 1;
    if (c > (band === 1 ? b : a)) band = 2;
    out[p] = MAB_BAND_VALUES[band]!;
  }
}
