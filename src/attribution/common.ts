import * as tf from '@tensorflow/tfjs-core';
import { UserError, ensure } from '../io/index.js';
import type { Model, NonlinearityRule, Tap } from '../nn/index.js';
import { Rng } from '../rng/index.js';
import { fillNormal } from '../compute/index.js';
import type { AttributeOptions, Attribution } from './types.js';
import { plainRule } from '../nn/index.js';

/** Most rows per forward/backward pass when the caller does not say. */
export const DEFAULT_INTERNAL_BATCH_SIZE = 16;
/** Activation memory the automatic internal batch size aims at (the wasm heap is at most 4 GiB). */
const AUTO_BATCH_ACTIVATION_BYTES = 192 * 2 ** 20;

/** Checks the batch against the model and returns its sample count. */
export function checkInputs(model: Model, inputs: tf.Tensor4D): number {
  const [n, h, w, c] = inputs.shape;
  const size = model.spec.inputSize;
  ensure(h === size && w === size && c === 3,
    `inputs are ${h}×${w}×${c} but the model takes ${size}×${size}×3 images`);
  return n;
}

/** The predicted class of every sample (first maximum of the logits, as torch.argmax). */
export function predictedClasses(model: Model, inputs: tf.Tensor4D): number[] {
  return argmaxRows(readTidy(() => model.forward(inputs).logits), model.spec.numClasses);
}

/**
 * The values of the tensor `make` returns, every intermediate disposed. Read outside the tidy: a tidy
 * walks whatever its function returns key by key, which for a typed array of a batch of images cost more
 * than the whole backward pass.
 */
export function readTidy(make: () => tf.Tensor): Float32Array {
  const t = tf.tidy(make);
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

export function argmaxRows(values: Float32Array, width: number): number[] {
  const result: number[] = [];
  for (let row = 0; row * width < values.length; row++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (values[row * width + k]! > values[row * width + best]!) best = k;
    result.push(best);
  }
  return result;
}

/** The target class of every sample: the given ones (checked) or the predicted ones. */
export function resolveTargets(model: Model, inputs: tf.Tensor4D, target: readonly number[] | undefined): number[] {
  const n = checkInputs(model, inputs);
  if (target === undefined) return predictedClasses(model, inputs);
  ensure(target.length === n, `got ${target.length} targets for ${n} samples`);
  for (const t of target) {
    ensure(Number.isInteger(t) && t >= 0 && t < model.spec.numClasses,
      `target class ${t} is outside 0..${model.spec.numClasses - 1}`);
  }
  return [...target];
}

/** Sum over rows of the logit of each row's target class: the scalar every gradient method differentiates. */
export function targetScore(logits: tf.Tensor2D, targets: readonly number[]): tf.Scalar {
  const mask = tf.oneHot(tf.tensor1d([...targets], 'int32'), logits.shape[1]);
  return tf.sum(tf.mul(logits, mask));
}

/** d(target logit)/d(input) for every row of `x`, with the given nonlinearity rule and taps. */
export function inputGradient(
  model: Model, x: tf.Tensor4D, targets: readonly number[], rule: NonlinearityRule = plainRule,
  taps?: Record<string, Tap>,
): tf.Tensor4D {
  return tf.grad((input: tf.Tensor) => targetScore(model.forward(input as tf.Tensor4D, { rule, taps }).logits, targets))(x) as tf.Tensor4D;
}

/** [start, end) ranges of at most `size` items covering 0..n. */
export function chunks(n: number, size: number): Array<[number, number]> {
  const step = Math.max(1, Math.floor(size));
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < n; start += step) ranges.push([start, Math.min(n, start + step)]);
  return ranges;
}

/**
 * Rows per pass: the caller's `internalBatchSize`, else as many as keep the named activations of one pass
 * under ~192 MiB (at most 16), so large models at large inputs stay inside the wasm heap.
 */
export function internalBatchSize(options: AttributeOptions | undefined, model: Model): number {
  const size = options?.internalBatchSize;
  if (size === undefined) {
    return Math.max(1, Math.min(DEFAULT_INTERNAL_BATCH_SIZE, Math.floor(AUTO_BATCH_ACTIVATION_BYTES / activationBytesPerRow(model))));
  }
  ensure(Number.isInteger(size) && size >= 1, `internal batch size must be a positive integer, got ${size}`);
  return size;
}

const bytesPerRow = new WeakMap<Model, number>();

/** Bytes of all named activations of one image, measured once per model by a tapped forward pass. */
function activationBytesPerRow(model: Model): number {
  let bytes = bytesPerRow.get(model);
  if (bytes === undefined) {
    let total = 0;
    const size = model.spec.inputSize;
    const taps = Object.fromEntries(model.layerNames.map((name) => [name, (a: tf.Tensor) => ((total += 4 * a.size), a)]));
    tf.tidy(() => {
      model.forward(tf.zeros([1, size, size, 3]), { taps });
    });
    bytes = Math.max(1, total);
    bytesPerRow.set(model, bytes);
  }
  return bytes;
}

/** NHWC tensor → PyTorch-layout attribution (n × c × H × W); the tensor is disposed. */
export function toAttribution(t: tf.Tensor4D): Attribution {
  const [n, h, w, c] = t.shape;
  const data = readTidy(() => tf.transpose(t, [0, 3, 1, 2]));
  t.dispose();
  return { data, shape: [n, c, h, w] };
}

/** Runs `perChunk` on row ranges of the batch and stacks the NHWC results, disposing as it goes. */
export function mapChunks(n: number, size: number, perChunk: (start: number, end: number) => tf.Tensor4D): tf.Tensor4D {
  const parts = chunks(n, size).map(([start, end]) => perChunk(start, end));
  if (parts.length === 1) return parts[0]!;
  const all = tf.concat(parts, 0);
  for (const p of parts) p.dispose();
  return all;
}

/** The per-sample random stream of a method: a function of (seed, purpose, sample key) only. */
export function sampleRng(options: AttributeOptions | undefined, purpose: string, index: number): Rng {
  const key = options?.sampleKeys?.[index] ?? index;
  return Rng.derive(options?.seed ?? 0, 'attribution', purpose, key);
}

/** How many SHAP baselines each sample has (explicit ones, or `shapBaselines`, default 4). */
export function shapBaselineCount(options: AttributeOptions | undefined, size: number): number {
  if (options?.baselines) {
    const k = options.baselines.length / (3 * size * size);
    if (!Number.isInteger(k) || k < 1) throw new UserError(`explicit baselines must be k × 3 × ${size} × ${size} values`);
    return k;
  }
  const k = options?.shapBaselines ?? 4;
  ensure(Number.isInteger(k) && k >= 1, `number of SHAP baselines must be a positive integer, got ${k}`);
  return k;
}

/**
 * The SHAP baselines of sample `index`, k × N × N × 3 (NHWC): the explicit `options.baselines` (given in
 * PyTorch layout k × 3 × N × N), or k tensors N(0, 1) × 0.001 drawn as the reference does (fresh per sample;
 * filled in PyTorch layout order from the sample's own stream, shared by GradientShap and DeepLiftShap).
 */
export function shapBaselines(options: AttributeOptions | undefined, index: number, size: number): tf.Tensor4D {
  const plane = 3 * size * size;
  const k = shapBaselineCount(options, size);
  if (options?.baselines) {
    return tf.tidy(() => tf.transpose(tf.tensor4d(options.baselines!, [k, 3, size, size]), [0, 2, 3, 1]));
  }
  const scale = options?.shapBaselineScale ?? 0.001;
  const rng = sampleRng(options, 'shap-baselines', index);
  const values = new Float32Array(k * plane);
  fillNormal(rng, values, 0, scale);
  return tf.tidy(() => tf.transpose(tf.tensor4d(values, [k, 3, size, size]), [0, 2, 3, 1]));
}

/**
 * The shared body of the plain-gradient family: for every chunk of rows, the input gradient of the target
 * logit under `rule`, turned into the attribution by `combine(gradient, input)`.
 */
export function gradientAttribution(
  model: Model, inputs: tf.Tensor4D, target: readonly number[] | undefined, options: AttributeOptions | undefined,
  rule: NonlinearityRule, combine: (gradient: tf.Tensor4D, input: tf.Tensor4D) => tf.Tensor4D,
): Attribution {
  const targets = resolveTargets(model, inputs, target);
  return toAttribution(mapChunks(inputs.shape[0], internalBatchSize(options, model), (start, end) => tf.tidy(() => {
    const x = tf.slice(inputs, [start], [end - start]);
    return combine(inputGradient(model, x, targets.slice(start, end), rule), x);
  })));
}
