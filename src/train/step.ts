import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/model.js';
import type { Adam } from './adam.js';
import type { Batch } from './data.js';
import { crossEntropy, mabLoss } from './losses.js';

/** Loss values of one step: `loss` is what was minimised; mab steps also report its two terms. */
export interface StepLosses {
  loss: number;
  ce?: number;
  mab?: number;
}

/**
 * One optimisation step: forward in training mode (dropout seeded, BatchNorm statistics updated by the
 * model), loss, gradients of every trainable parameter, Adam update. `lambda` set → mab joint loss.
 * Leaves no tensors behind.
 */
export function trainStep(model: Model, adam: Adam, batch: Batch, dropoutSeed: number, lambda?: number): StepLosses {
  const names = [...model.trainable.keys()];
  const variables = [...model.trainable.values()];
  let terms: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(batch.x, { training: true, dropoutSeed });
    if (lambda === undefined) return crossEntropy(out.logits, batch.labels);
    if (!out.heatmapLogits || !batch.bands) throw new Error('mab training needs a model with heatmap logits and band labels');
    const parts = mabLoss(out.logits, out.heatmapLogits, batch.labels, batch.bands, lambda);
    terms = [tf.keep(parts.ce), tf.keep(parts.mab)];
    return parts.total;
  }, variables);
  adam.apply(new Map(names.flatMap((name, i) => {
    const g = grads[variables[i]!.name];
    return g ? [[name, g] as const] : [];
  })));
  const losses: StepLosses = { loss: value.dataSync()[0]! };
  if (terms.length === 2) {
    losses.ce = terms[0]!.dataSync()[0]!;
    losses.mab = terms[1]!.dataSync()[0]!;
  }
  tf.dispose([value, ...Object.values(grads), ...terms]);
  return losses;
}
