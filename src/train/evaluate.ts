import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/model.js';
import { disposeBatch, makeBatch, type ShardSet } from './data.js';

export interface Evaluation {
  correct: number;
  total: number;
  accuracy: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

/** Accuracy (argmax of the logits, eval mode) and confusion matrix over the given shards of a split. */
export async function evaluate(
  model: Model, split: ShardSet, shards: readonly number[] = split.sampleCounts.map((_, i) => i), batchSize = 16,
): Promise<Evaluation> {
  const classes = model.spec.numClasses;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  let total = 0;
  for (const index of shards) {
    const shard = await split.load(index);
    for (let start = 0; start < shard.n; start += batchSize) {
      const indices = Array.from({ length: Math.min(batchSize, shard.n - start) }, (_, k) => start + k);
      const batch = makeBatch(shard, indices, model.spec.inputSize, false);
      const predicted = tf.tidy(() => tf.argMax(model.forward(batch.x, { training: false }).logits, 1));
      const pred = predicted.dataSync();
      const truth = batch.labels.dataSync();
      predicted.dispose();
      disposeBatch(batch);
      for (let k = 0; k < pred.length; k++) {
        confusion[truth[k]!]![pred[k]!]! += 1;
        if (pred[k] === truth[k]) correct += 1;
        total += 1;
      }
    }
  }
  return { correct, total, accuracy: total > 0 ? correct / total : 0, confusion };
}
