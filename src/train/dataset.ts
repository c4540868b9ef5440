import type { Dataset, Split } from '../data/index.js';
import { Rng } from '../rng/index.js';
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

/**
 * The data with the class labels of every training and validation shard permuted by a seeded shuffle within the
 * shard (class counts kept; images and band labels untouched): the model of the random-label sanity check
 * (Adebayo et al. 2018), which can only memorise. The test split keeps its true labels.
 */
export function withShuffledLabels(data: TrainingData, seed: number): TrainingData {
  const shuffled = (set: ShardSet, split: string): ShardSet => ({
    sampleCounts: set.sampleCounts,
    load: async (index) => {
      const shard = await set.load(index);
      return { ...shard, labels: Rng.derive(seed, 'shuffled-labels', split, index).shuffle(Array.from(shard.labels)) };
    },
  });
  return { ...data, train: shuffled(data.train, 'train'), validation: shuffled(data.validation, 'val'), shuffledLabels: true };
}
