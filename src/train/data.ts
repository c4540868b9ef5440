import * as tf from '@tensorflow/tfjs-core';
import { resizeBands, resizeImages } from '../data/resize.js';

/** One shard as training sees it: uint8 images n×S×S×3, class labels, band labels n×S×S (0/1/2). */
export interface Shard {
  n: number;
  size: number;
  images: Uint8Array;
  labels: ArrayLike<number>;
  bands?: Uint8Array;
}

/** The shards of one split; `sampleCounts[i]` is shard i's sample count (known without loading it). */
export interface ShardSet {
  readonly sampleCounts: readonly number[];
  load(index: number): Promise<Shard>;
}

/** What training needs from a dataset: image side, number of classes and the splits. */
export interface TrainingData {
  size: number;
  numClasses: number;
  train: ShardSet;
  validation: ShardSet;
  test?: ShardSet;
  /** Training and validation labels permuted (withShuffledLabels): part of a run's identity. */
  shuffledLabels?: boolean;
}

export interface Batch {
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  bands?: tf.Tensor3D;
}

/**
 * The samples `indices` of a shard as a batch at the model's input size: images as float32 in [0, 1]
 * (skimage's img_as_float), resized with the anti-aliased bilinear resize when the sizes differ (the band
 * labels too when `withBands`).
 */
export function makeBatch(shard: Shard, indices: readonly number[], inputSize: number, withBands: boolean): Batch {
  const s = shard.size;
  const pixels = s * s;
  const raw = new Float32Array(indices.length * pixels * 3);
  const labels = new Int32Array(indices.length);
  indices.forEach((sample, k) => {
    const from = sample * pixels * 3;
    for (let i = 0; i < pixels * 3; i++) raw[k * pixels * 3 + i] = shard.images[from + i]! / 255;
    labels[k] = shard.labels[sample]!;
  });
  const images = resizeImages(raw, indices.length, s, inputSize, 3);
  const batch: Batch = {
    x: tf.tensor4d(images, [indices.length, inputSize, inputSize, 3]),
    labels: tf.tensor1d(labels, 'int32'),
  };
  if (withBands) {
    if (!shard.bands) throw new Error('makeBatch: the shard has no band labels');
    const picked = new Uint8Array(indices.length * pixels);
    indices.forEach((sample, k) => picked.set(shard.bands!.subarray(sample * pixels, (sample + 1) * pixels), k * pixels));
    const bands = resizeBands(picked, indices.length, s, inputSize);
    batch.bands = tf.tensor3d(Int32Array.from(bands), [indices.length, inputSize, inputSize], 'int32');
  }
  return batch;
}

export function disposeBatch(batch: Batch): void {
  batch.x.dispose();
  batch.labels.dispose();
  batch.bands?.dispose();
}
