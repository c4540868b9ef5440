import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchSpec, ForwardOptions, ForwardResult, Model } from '../../src/nn/model.js';
import { Rng } from '../../src/rng/index.js';
import type { ModelStore, Shard, ShardSet, TrainingData } from '../../src/train/index.js';
import { tf } from './setup.js';

/**
 * A tiny model that honours the Model contract: conv 3×3 → BatchNorm (running statistics as buffers) →
 * ReLU → global mean → dropout → linear; a 1×1 conv of the features gives heatmap logits (like SPA).
 */
export function createTinyModel(spec: ArchSpec, seed: number): Model {
  const rng = Rng.derive(seed, 'tiny');
  const uniform = (shape: number[], bound: number) =>
    tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-bound, bound)), shape));
  const c = 4;
  const trainable = new Map<string, tf.Variable>([
    ['conv.weight', uniform([3, 3, 3, c], 1 / Math.sqrt(27))],
    ['conv.bias', uniform([c], 1 / Math.sqrt(27))],
    ['bn.weight', tf.variable(tf.ones([c]))],
    ['bn.bias', tf.variable(tf.zeros([c]))],
    ['fc.weight', uniform([c, spec.numClasses], 0.5)],
    ['fc.bias', uniform([spec.numClasses], 0.5)],
    ['head.weight', uniform([1, 1, c, 3], 0.5)],
  ]);
  const buffers = new Map<string, tf.Variable>([
    ['bn.running_mean', tf.variable(tf.zeros([c]), false)],
    ['bn.running_var', tf.variable(tf.ones([c]), false)],
    ['bn.num_batches_tracked', tf.variable(tf.scalar(0, 'int32'), false)],
  ]);
  const p = (name: string) => trainable.get(name)!;
  return {
    spec,
    layerNames: ['conv', 'relu'],
    firstConv: 'conv',
    trainable,
    buffers,
    forward(x: tf.Tensor4D, options: ForwardOptions = {}): ForwardResult {
      const mean = buffers.get('bn.running_mean')!;
      const variance = buffers.get('bn.running_var')!;
      return tf.tidy(() => {
        const conv = tf.add(tf.conv2d(x, p('conv.weight') as tf.Tensor4D, 1, 'same'), p('conv.bias')) as tf.Tensor4D;
        let normalised: tf.Tensor4D;
        if (options.training) {
          const moments = tf.moments(conv, [0, 1, 2]);
          normalised = tf.batchNorm(conv, moments.mean, moments.variance, p('bn.bias'), p('bn.weight'), 1e-5) as tf.Tensor4D;
          const count = conv.size / c;
          mean.assign(tf.add(tf.mul(mean, 0.9), tf.mul(moments.mean, 0.1)));
          const tracked = buffers.get('bn.num_batches_tracked')!;
          tracked.assign(tf.add(tracked, tf.scalar(1, 'int32')));
          variance.assign(tf.add(tf.mul(variance, 0.9), tf.mul(moments.variance, (0.1 * count) / (count - 1))));
        } else {
          normalised = tf.batchNorm(conv, mean, variance, p('bn.bias'), p('bn.weight'), 1e-5) as tf.Tensor4D;
        }
        const features = tf.relu(normalised);
        let pooled = tf.mean(features, [1, 2]) as tf.Tensor2D;
        if (options.training) pooled = tf.dropout(pooled, 0.25, undefined, options.dropoutSeed) as tf.Tensor2D;
        const logits = tf.add(tf.matMul(pooled, p('fc.weight') as tf.Tensor2D), p('fc.bias')) as tf.Tensor2D;
        const heatmapLogits = tf.conv2d(features, p('head.weight') as tf.Tensor4D, 1, 'valid');
        return { logits, heatmapLogits };
      });
    },
    dispose() {
      for (const v of [...trainable.values(), ...buffers.values()]) v.dispose();
    },
  };
}

/** A ModelStore for the tiny model (JSON of the values; the real one is the nn stage's safetensors). */
export const tinyStore: ModelStore = {
  async save(dir, model, extra) {
    await mkdir(dir, { recursive: true });
    const values: Record<string, number[]> = {};
    for (const [k, v] of [...model.trainable, ...model.buffers]) values[k] = Array.from(v.dataSync());
    await writeFile(join(dir, 'tiny.json'), JSON.stringify({ spec: model.spec, values, extra }));
  },
  async load(dir) {
    const saved = JSON.parse(await readFile(join(dir, 'tiny.json'), 'utf8'));
    const model = createTinyModel(saved.spec, 0);
    for (const [k, v] of [...model.trainable, ...model.buffers]) v.assign(tf.tensor(saved.values[k], v.shape, v.dtype));
    return model;
  },
};

/**
 * An easy synthetic data set: class c has channel c brighter, band labels mark the bright disc.
 */
export function tinyData(options: { size?: number; numClasses?: number; trainShards?: number[]; validationShards?: number[]; seed?: number } = {}): TrainingData {
  const size = options.size ?? 8;
  const numClasses = options.numClasses ?? 3;
  const makeSet = (split: string, counts: number[]): ShardSet => ({
    sampleCounts: counts,
    async load(index: number): Promise<Shard> {
      const n = counts[index]!;
      const rng = Rng.derive(options.seed ?? 1, split, index);
      const images = new Uint8Array(n * size * size * 3);
      const bands = new Uint8Array(n * size * size);
      const labels = new Int32Array(n);
      for (let s = 0; s < n; s++) {
        const label = rng.int(0, numClasses);
        labels[s] = label;
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const r = Math.hypot(y - size / 2, x - size / 2);
            const inside = r < size / 4;
            bands[(s * size + y) * size + x] = inside ? 2 : r < size / 3 ? 1 : 0;
            for (let ch = 0; ch < 3; ch++) {
              const base = ch === label % 3 && inside ? 200 : 60;
              images[((s * size + y) * size + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(base + rng.normal(0, 20))));
            }
          }
        }
      }
      return { n, size, images, labels, bands };
    },
  });
  return {
    size, numClasses,
    train: makeSet('train', options.trainShards ?? [20, 12]),
    validation: makeSet('validation', options.validationShards ?? [10, 10]),
  };
}

export const tinySpec = (size = 8, numClasses = 3): ArchSpec => ({ arch: 'spa', inputSize: size, numClasses, width: 1 });
