import * as tf from '@tensorflow/tfjs-core';
import type { Arch, ForwardOptions, ForwardResult, Model, NonlinearityRule } from '../../src/nn/index.js';
import { plainRule } from '../../src/nn/index.js';

/**
 * Tiny models for the attribution tests, built on the same Model contract as the real ones: every
 * nonlinearity goes through `rule.apply`, every named op's output can be tapped. Weights are given in
 * PyTorch layouts (Conv OIHW, Linear out×in) and flattening is in PyTorch's (c, h, w) order, so a net
 * written in PyTorch with the same weights computes the same function.
 */
export type Op =
  | { kind: 'conv'; name: string; weight: Float32Array; shape: [number, number, number, number]; bias: Float32Array; stride?: number; pad?: number }
  | { kind: 'relu'; name: string }
  | { kind: 'leaky_relu'; name: string; alpha: number }
  | { kind: 'max_pool'; name: string; size: number; stride: number; pad?: number }
  | { kind: 'flatten'; name: string }
  | { kind: 'linear'; name: string; weight: Float32Array; shape: [number, number]; bias: Float32Array }
  | { kind: 'softmax'; name: string; groups: number }
  | { kind: 'mean_pool'; name: string };

export class TinyModel implements Model {
  readonly layerNames: readonly string[];
  readonly trainable = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();
  readonly spec;
  private readonly tensors = new Map<string, tf.Tensor>();

  constructor(inputSize: number, numClasses: number, private readonly ops: Op[], readonly firstConv = ops.find((o) => o.kind === 'conv')?.name ?? '', arch: Arch = 'alexnet') {
    this.spec = { arch, inputSize, numClasses, width: 1 };
    this.layerNames = ops.map((o) => o.name);
    for (const op of ops) {
      if (op.kind === 'conv') {
        // OIHW → HWIO
        this.tensors.set(op.name, tf.transpose(tf.tensor4d(op.weight, op.shape), [2, 3, 1, 0]));
        this.tensors.set(`${op.name}.bias`, tf.tensor1d(op.bias));
      } else if (op.kind === 'linear') {
        this.tensors.set(op.name, tf.transpose(tf.tensor2d(op.weight, op.shape)));
        this.tensors.set(`${op.name}.bias`, tf.tensor1d(op.bias));
      }
    }
  }

  forward(x: tf.Tensor4D, options: ForwardOptions = {}): ForwardResult {
    const rule: NonlinearityRule = options.rule ?? plainRule;
    let h: tf.Tensor = x;
    let first = true;
    for (const op of this.ops) {
      if ((op.kind === 'conv' || op.kind === 'linear') && rule.applyLinear) {
        // Linear layers through the rule's hook (LRP), as the real models' layers do.
        h = rule.applyLinear(op.kind, op.name, h, (t, rho = (p) => p, o = {}) => this.linear(op, t, rho, o.bias !== false), first);
        first = false;
      } else {
        h = this.run(op, h, rule);
      }
      const tap = options.taps?.[op.name];
      if (tap) h = tap(h);
    }
    return { logits: h as tf.Tensor2D };
  }

  /** A convolution or linear layer with ρ applied to its parameters, with or without its bias. */
  private linear(op: Extract<Op, { kind: 'conv' | 'linear' }>, h: tf.Tensor, rho: (p: tf.Tensor) => tf.Tensor, bias: boolean): tf.Tensor {
    let out: tf.Tensor;
    if (op.kind === 'conv') {
      const pad = op.pad ?? 0;
      const padded = pad > 0 ? tf.pad(h as tf.Tensor4D, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : h;
      out = tf.conv2d(padded as tf.Tensor4D, rho(this.tensors.get(op.name)!) as tf.Tensor4D, op.stride ?? 1, 'valid');
    } else {
      out = tf.matMul(h as tf.Tensor2D, rho(this.tensors.get(op.name)!) as tf.Tensor2D);
    }
    return bias ? tf.add(out, rho(this.tensors.get(`${op.name}.bias`)!)) : out;
  }

  private run(op: Op, h: tf.Tensor, rule: NonlinearityRule): tf.Tensor {
    switch (op.kind) {
      case 'conv':
      case 'linear':
        return this.linear(op, h, (p) => p, true);
      case 'relu':
        return rule.apply('relu', op.name, h as tf.Tensor4D, (t) => tf.relu(t));
      case 'leaky_relu':
        return rule.apply('leaky_relu', op.name, h as tf.Tensor2D, (t) => tf.leakyRelu(t, op.alpha));
      case 'max_pool':
        return rule.apply('max_pool', op.name, h as tf.Tensor4D, (t) => tf.maxPool(t as tf.Tensor4D, op.size, op.stride, op.pad ?? 0));
      case 'flatten':
        return tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [h.shape[0]!, -1]);
      case 'softmax': {
        // softmax over the last axis of a [n, groups, width] view, as SPA's 48 × 48 product
        const n = h.shape[0]!;
        const rows = tf.reshape(h, [n * op.groups, -1]) as tf.Tensor2D;
        return tf.reshape(rule.apply('softmax', op.name, rows, (t) => tf.softmax(t)), [n, -1]);
      }
      case 'mean_pool':
        return tf.mean(h, [1, 2]);
    }
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
  }
}

/** Deterministic pseudo-random weights in [−scale, scale). */
export function weights(count: number, seed: number, scale = 0.5): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** A model whose logits are an affine function of the input: logits = flatten(x) · Wᵀ + b. */
export function linearModel(size: number, classes: number, seed = 1): { model: TinyModel; w: Float32Array } {
  const w = weights(classes * 3 * size * size, seed);
  const model = new TinyModel(size, classes, [
    { kind: 'flatten', name: 'flatten' },
    { kind: 'linear', name: 'fc', weight: w, shape: [classes, 3 * size * size], bias: weights(classes, seed + 1) },
  ]);
  return { model, w };
}

/** Conv → ReLU → max-pool (k, s) → conv → ReLU → flatten → linear. */
export function reluPoolNet(size: number, classes: number, pool: { size: number; stride: number; pad?: number }, seed = 3): TinyModel {
  const afterConv1 = size; // conv1 has padding 1
  const pooled = Math.floor((afterConv1 + 2 * (pool.pad ?? 0) - pool.size) / pool.stride) + 1;
  const afterConv2 = pooled - 2;
  return new TinyModel(size, classes, [
    { kind: 'conv', name: 'conv1', weight: weights(4 * 3 * 9, seed), shape: [4, 3, 3, 3], bias: weights(4, seed + 1, 0.2), pad: 1 },
    { kind: 'relu', name: 'relu1' },
    { kind: 'max_pool', name: 'pool1', ...pool },
    { kind: 'conv', name: 'conv2', weight: weights(5 * 4 * 9, seed + 2), shape: [5, 4, 3, 3], bias: weights(5, seed + 3, 0.2) },
    { kind: 'relu', name: 'relu2' },
    { kind: 'flatten', name: 'flatten' },
    { kind: 'linear', name: 'fc', weight: weights(classes * 5 * afterConv2 ** 2, seed + 4), shape: [classes, 5 * afterConv2 ** 2], bias: weights(classes, seed + 5) },
  ]);
}

/** A net with LeakyReLU, max-pool and softmax but no ReLU. */
export function noReluNet(size: number, classes: number, seed = 7): TinyModel {
  const pooled = Math.floor((size - 2) / 2);
  return new TinyModel(size, classes, [
    { kind: 'conv', name: 'conv1', weight: weights(4 * 3 * 9, seed), shape: [4, 3, 3, 3], bias: weights(4, seed + 1, 0.2) },
    { kind: 'leaky_relu', name: 'act1', alpha: 0.1 },
    { kind: 'max_pool', name: 'pool1', size: 2, stride: 2 },
    { kind: 'flatten', name: 'flatten' },
    { kind: 'linear', name: 'fc1', weight: weights(6 * 4 * pooled ** 2, seed + 2), shape: [6, 4 * pooled ** 2], bias: weights(6, seed + 3) },
    { kind: 'softmax', name: 'softmax', groups: 2 },
    { kind: 'linear', name: 'fc2', weight: weights(classes * 6, seed + 4), shape: [classes, 6], bias: weights(classes, seed + 5) },
  ]);
}

/** One convolution (k × k, stride s, no padding), global average pooling, linear: Grad-CAM by hand. */
export function oneConvNet(size: number, classes: number, channels: number, k: number, stride: number, seed = 11): TinyModel {
  return new TinyModel(size, classes, [
    { kind: 'conv', name: 'conv', weight: weights(channels * 3 * k * k, seed), shape: [channels, 3, k, k], bias: weights(channels, seed + 1), stride },
    { kind: 'mean_pool', name: 'gap' },
    { kind: 'linear', name: 'fc', weight: weights(classes * channels, seed + 2), shape: [classes, channels], bias: weights(classes, seed + 3) },
  ]);
}

/** A batch of n images N × N × 3 with values in [0, 1), deterministic. */
export function images(n: number, size: number, seed = 99): tf.Tensor4D {
  const v = weights(n * size * size * 3, seed, 0.5);
  return tf.tensor4d(v.map((x) => x + 0.5), [n, size, size, 3]);
}
