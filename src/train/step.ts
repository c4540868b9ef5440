import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/model.js';
import { Rng } from '../rng/index.js';
import type { Adam } from './adam.js';
import { disposeBatch, type Batch } from './data.js';
import { crossEntropy, mabLoss } from './losses.js';

/** Loss values of one step: `loss` is what was minimised; mab steps also report its two terms. */
export interface StepLosses {
  loss: number;
  ce?: number;
  mab?: number;
}

/** One micro-batch's share of a step: gradients of `scale × loss`, the scaled losses, BatchNorm buffers after it. */
export interface MicroBatchResult {
  grads: Map<string, tf.Tensor>;
  losses: StepLosses;
  buffers: Map<string, tf.Tensor>;
}

/**
 * Splits a batch into `count` contiguous micro-batches (sizes differ by at most one, larger first; never an
 * empty one). One micro-batch is the batch itself, not a copy.
 */
export function splitBatch(batch: Batch, count: number): Batch[] {
  const n = batch.x.shape[0];
  const parts = Math.max(1, Math.min(count, n));
  if (parts === 1) return [batch];
  const base = Math.floor(n / parts);
  const out: Batch[] = [];
  let start = 0;
  for (let k = 0; k < parts; k++) {
    const size = base + (k < n % parts ? 1 : 0);
    const part: Batch = { x: tf.slice(batch.x, [start, 0, 0, 0], [size, -1, -1, -1]), labels: tf.slice(batch.labels, [start], [size]) };
    if (batch.bands) part.bands = tf.slice(batch.bands, [start, 0, 0], [size, -1, -1]);
    out.push(part);
    start += size;
  }
  return out;
}

/** Dropout seed of micro-batch k of a step (k = 0 keeps the step's seed, so one micro-batch = a plain step). */
export function microBatchSeed(stepSeed: number, k: number): number {
  return k === 0 ? stepSeed : Rng.derive(stepSeed, 'micro-batch', k).nextUint32();
}

/**
 * Forward in training mode (dropout seeded, BatchNorm on the micro-batch's statistics, running statistics
 * updated by the model), loss × `scale`, gradients of every trainable parameter. `lambda` set → mab joint loss.
 */
export function microBatchGradients(model: Model, batch: Batch, scale: number, dropoutSeed: number, lambda?: number): MicroBatchResult {
  const names = [...model.trainable.keys()];
  const variables = [...model.trainable.values()];
  let terms: tf.Scalar[] = [];
  const scaled = (t: tf.Scalar): tf.Scalar => (scale === 1 ? t : tf.mul(t, scale));
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(batch.x, { training: true, dropoutSeed });
    if (lambda === undefined) return scaled(crossEntropy(out.logits, batch.labels));
    if (!out.heatmapLogits || !batch.bands) throw new Error('mab training needs a model with heatmap logits and band labels');
    const parts = mabLoss(out.logits, out.heatmapLogits, batch.labels, batch.bands, lambda);
    terms = [tf.keep(scaled(parts.ce)), tf.keep(scaled(parts.mab))];
    return scaled(parts.total);
  }, variables);
  const byName = new Map<string, tf.Tensor>();
  names.forEach((name, i) => {
    const g = grads[variables[i]!.name];
    if (g) byName.set(name, g);
  });
  const losses: StepLosses = { loss: value.dataSync()[0]! };
  if (terms.length === 2) {
    losses.ce = terms[0]!.dataSync()[0]!;
    losses.mab = terms[1]!.dataSync()[0]!;
  }
  tf.dispose([value, ...terms]);
  return { grads: byName, losses, buffers: copyBuffers(model) };
}

/** Copies of the model's BatchNorm buffers. */
export function copyBuffers(model: Model): Map<string, tf.Tensor> {
  return new Map([...model.buffers].map(([name, v]) => [name, tf.clone(v)]));
}

export function setBuffers(model: Model, values: ReadonlyMap<string, tf.Tensor>): void {
  for (const [name, v] of model.buffers) v.assign(values.get(name)!);
}

/**
 * Ends a step from its micro-batches, in micro-batch order whoever computed them: gradients summed, Adam
 * applied, running statistics set to the average of the micro-batches' updates (each started from the
 * same statistics, like PyTorch's DataParallel replicas; counters take the last value), losses summed.
 * Disposes the results.
 */
export function finishStep(model: Model, adam: Adam, parts: readonly MicroBatchResult[]): StepLosses {
  if (parts.length === 1) {
    setBuffers(model, parts[0]!.buffers);
  } else {
    const averaged = new Map([...model.buffers.keys()].map((name) => {
      const values = parts.map((p) => p.buffers.get(name)!);
      if (values[0]!.dtype !== 'float32') return [name, values[values.length - 1]!.clone()] as const;
      return [name, tf.tidy(() => tf.div(values.slice(1).reduce((s, v) => tf.add(s, v), values[0]!), parts.length))] as const;
    }));
    setBuffers(model, averaged);
    tf.dispose([...averaged.values()]);
  }
  const summed = parts.length === 1 ? parts[0]!.grads : new Map([...parts[0]!.grads.keys()].map((name) => [
    name, tf.tidy(() => parts.slice(1).reduce((s, p) => tf.add(s, p.grads.get(name)!), parts[0]!.grads.get(name)!)),
  ] as const));
  adam.apply(summed);
  const losses: StepLosses = { loss: 0 };
  for (const p of parts) {
    losses.loss += p.losses.loss;
    if (p.losses.ce !== undefined) losses.ce = (losses.ce ?? 0) + p.losses.ce;
    if (p.losses.mab !== undefined) losses.mab = (losses.mab ?? 0) + p.losses.mab;
  }
  if (summed !== parts[0]!.grads) tf.dispose([...summed.values()]);
  for (const p of parts) tf.dispose([...p.grads.values(), ...p.buffers.values()]);
  return losses;
}

/**
 * Micro-batches `ks` of a step (of `batchSize` samples) on this thread, in that order, each starting from the
 * BatchNorm statistics the model had before the first; the model's buffers are left at those statistics.
 */
export function microBatchesHere(
  model: Model, parts: readonly Batch[], batchSize: number, stepSeed: number, lambda: number | undefined, ks: readonly number[],
): MicroBatchResult[] {
  const start = copyBuffers(model);
  try {
    return ks.map((k) => {
      setBuffers(model, start);
      const part = parts[k]!;
      return microBatchGradients(model, part, part.x.shape[0] / batchSize, microBatchSeed(stepSeed, k), lambda);
    });
  } finally {
    setBuffers(model, start);
    tf.dispose([...start.values()]);
  }
}

/**
 * One optimisation step on this thread. With `microBatches` > 1 the batch is split (see splitBatch) and the
 * gradients of the micro-batches are accumulated: the same arithmetic, in the same order, as a
 * `StepRunner` computing them on several threads. Leaves no tensors behind.
 */
export function trainStep(model: Model, adam: Adam, batch: Batch, dropoutSeed: number, lambda?: number, microBatches = 1): StepLosses {
  const parts = splitBatch(batch, microBatches);
  const n = batch.x.shape[0];
  if (parts.length === 1) return finishStep(model, adam, [microBatchGradients(model, batch, 1, dropoutSeed, lambda)]);
  try {
    return finishStep(model, adam, microBatchesHere(model, parts, n, dropoutSeed, lambda, parts.map((_, k) => k)));
  } finally {
    parts.forEach(disposeBatch);
  }
}
