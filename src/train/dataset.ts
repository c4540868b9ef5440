import type { Dataset, Split } from '../data/index.js';
import type { ShardSet, TrainingData } from './data.js';

/** One split of an opened dataset as a ShardSet (each load verifies the shard's checksum). */
export function shardSetOf(dataset: Dataset, split: Split): ShardSet {
  return {
    sampleCounts: dataset.shards[split].map((ref) => ref.samples),
    load: (index) => dataset.readShard(split, index),
  };
}

/** An opened dataset as training sees it: train / val / test splits. */
export function trainingDataOf(dataset: Dataset): TrainingData {
  return {
    size: dataset.size,
    numClasses: dataset.classes,
    train: shardSetOf(dataset, 'train'),
    validation: shardSetOf(dataset, 'val'),
    test: shardSetOf(dataset, 'test'),
  };
}
