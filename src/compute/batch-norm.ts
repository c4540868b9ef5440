import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { isWasm, runJsKernel } from './js-kernel.js';
import { heapAddress, simdKernels } from './simd.js';

/**
 * BatchNorm over the last (channel) axis as two fused kernels, each a couple of passes over the activations,
 * for both backends. Composed from tfjs ops, a training-mode BatchNorm was ~14 kernels forward and backward
 * (moments, the normalisation, the saved-tensor copies, the gradient's reductions and broadcasts): about a
 * third of a ResNet34 training step on wasm. Statistics are accumulated in float64.
 */
export const BATCH_NORM_TRAINING = 'FivebandBatchNormTraining';
export const BATCH_NORM_GRAD = 'FivebandBatchNormGrad';

interface TrainingAttrs {
  varianceEpsilon: number;
}

interface GradAttrs {
  varianceEpsilon: number;
  /** The forward used the batch's own statistics, so the gradient includes their dependence on x. */
  batchStatistics: boolean;
}

interface KernelArgs<Attrs> {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs: Attrs;
}

function inputsOf(args: KernelArgs<unknown>, names: string[]): tf.TensorInfo[] {
  return names.map((name) => {
    const info = args.inputs[name];
    if (info === undefined) throw new Error(`batch norm kernel: missing input ${name}`);
    return info;
  });
}

/**
 * From float64 channel sums of x and x² over `rows` rows: the mean and biased variance (outputs), and the
 * per-channel factor and shift of y = x·factor + shift.
 */
function normalisation(
  sums: Float64Array, squares: Float64Array, rows: number, g: Float32Array, b: Float32Array, varianceEpsilon: number,
  meanOut: Float32Array, varOut: Float32Array, factor: Float32Array | Float64Array, shift: Float32Array | Float64Array,
): void {
  for (let c = 0; c < sums.length; c++) {
    const mean = sums[c]! / rows;
    // Float32-exact unless mean² exceeds ~10⁸ × variance.
    const variance = Math.max(0, squares[c]! / rows - mean * mean);
    meanOut[c] = mean;
    varOut[c] = variance;
    const f = g[c]! / Math.sqrt(variance + varianceEpsilon);
    factor[c] = f;
    shift[c] = b[c]! - mean * f;
  }
}

/**
 * Memory of the wasm SIMD path, all on the heap: the outputs (an x-shaped map, two per-channel vectors) and a
 * scratch block of two zeroed float64 channel sums and `vectors` float32 channel vectors. Views are taken
 * after every allocation (growing the heap detaches earlier ones).
 */
function simdWorkspace(backend: BackendWasm, shape: number[], vectors: number) {
  const channels = shape[shape.length - 1]!;
  const outputs = [shape, [channels], [channels]].map((s) => backend.makeOutput(s, 'float32'));
  const scratch = backend.makeOutput([(4 + vectors) * channels], 'float32');
  const heap = backend.typedArrayFromHeap(scratch).buffer;
  const at = heapAddress(backend, scratch);
  const sums = [0, 1].map((i) => new Float64Array(heap, at + 8 * channels * i, channels).fill(0)) as [Float64Array, Float64Array];
  return {
    outputs,
    sums,
    vectors: Array.from({ length: vectors }, (_, i) => new Float32Array(heap, at + (16 + 4 * i) * channels, channels)),
    simd: simdKernels(backend),
    address: (info: tf.TensorInfo) => heapAddress(backend, info),
    view: (info: tf.TensorInfo) => new Float32Array(heap, heapAddress(backend, info), tf.util.sizeFromShape(info.shape)),
    release: () => backend.disposeData(scratch.dataId),
  };
}

/** Inputs x [..., C], scale [C], offset [C]; outputs y, the batch mean and the biased batch variance. */
function batchNormTraining(args: KernelArgs<TrainingAttrs>): tf.TensorInfo[] {
  const [x, scale, offset] = inputsOf(args, ['x', 'scale', 'offset']) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const channels = x.shape[x.shape.length - 1]!;
  const { varianceEpsilon } = args.attrs;
  const backend = args.backend;
  if (isWasm(backend) && channels % 4 === 0) {
    const rows = tf.util.sizeFromShape(x.shape) / channels;
    const w = simdWorkspace(backend, x.shape, 2);
    const [sums, squares] = w.sums;
    const [factor, shift] = w.vectors as [Float32Array, Float32Array];
    const [y, meanOut, varOut] = w.outputs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    w.simd.channelSums(w.address(x), rows, channels, sums.byteOffset, squares.byteOffset);
    normalisation(sums, squares, rows, w.view(scale), w.view(offset), varianceEpsilon, w.view(meanOut), w.view(varOut), factor, shift);
    w.simd.scaleShift(w.address(x), w.address(y), rows, channels, factor.byteOffset, shift.byteOffset);
    w.release();
    return w.outputs;
  }
  return runJsKernel(backend, [x, scale, offset], [x.shape, [channels], [channels]], ([xv, g, b], [y, meanOut, varOut]) => {
    const size = xv!.length, rows = size / channels;
    const sums = new Float64Array(channels), squares = new Float64Array(channels);
    for (let at = 0; at < size; ) {
      for (let c = 0; c < channels; c++, at++) {
        const v = xv![at]!;
        sums[c]! += v;
        squares[c]! += v * v;
      }
    }
    const factor = new Float64Array(channels), shift = new Float64Array(channels);
    normalisation(sums, squares, rows, g!, b!, varianceEpsilon, meanOut!, varOut!, factor, shift);
    for (let at = 0; at < size; ) for (let c = 0; c < channels; c++, at++) y![at] = xv![at]! * factor[c]! + shift[c]!;
  }, true);
}

/**
 * From float64 channel sums Σdy and Σdy·(x − μ): dscale, doffset (outputs) and the coefficients of
 * dx = a·dy + b·x + k per channel (b = k = 0 for fixed statistics).
 */
function gradientCoefficients(
  sumDy: Float64Array, sumDyCentred: Float64Array, rows: number, mu: Float32Array, v: Float32Array, g: Float32Array,
  attrs: GradAttrs, dScale: Float32Array, dOffset: Float32Array,
  a: Float32Array | Float64Array, b: Float32Array | Float64Array, k: Float32Array | Float64Array,
): void {
  for (let c = 0; c < sumDy.length; c++) {
    const inv = 1 / Math.sqrt(v[c]! + attrs.varianceEpsilon);
    dOffset[c] = sumDy[c]!;
    dScale[c] = sumDyCentred[c]! * inv;
    const ac = g[c]! * inv;
    a[c] = ac;
    const bc = attrs.batchStatistics ? (-ac * inv * inv * sumDyCentred[c]!) / rows : 0;
    b[c] = bc;
    k[c] = attrs.batchStatistics ? (-ac * sumDy[c]!) / rows - bc * mu[c]! : 0;
  }
}

/**
 * Inputs dy, x, mean, variance, scale; outputs dx, dscale, doffset. With x̂ = (x − μ)/σ:
 * doffset = Σ dy, dscale = Σ dy·x̂, and dx = γ/σ · (dy − doffset/m − x̂·dscale/m) for batch statistics,
 * dx = γ/σ · dy for fixed (running) ones.
 */
function batchNormGrad(args: KernelArgs<GradAttrs>): tf.TensorInfo[] {
  const inputs = inputsOf(args, ['dy', 'x', 'mean', 'variance', 'scale']);
  const x = inputs[1]!;
  const channels = x.shape[x.shape.length - 1]!;
  const backend = args.backend;
  if (isWasm(backend) && channels % 4 === 0) {
    const rows = tf.util.sizeFromShape(x.shape) / channels;
    const w = simdWorkspace(backend, x.shape, 3);
    const [sumDy, sumDyCentred] = w.sums;
    const [a, b, k] = w.vectors as [Float32Array, Float32Array, Float32Array];
    const [dy, xv, mu, v, g] = inputs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const [dx, dScale, dOffset] = w.outputs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    w.simd.gradientSums(w.address(dy), w.address(xv), w.address(mu), rows, channels, sumDy.byteOffset, sumDyCentred.byteOffset);
    gradientCoefficients(sumDy, sumDyCentred, rows, w.view(mu), w.view(v), w.view(g), args.attrs, w.view(dScale), w.view(dOffset), a, b, k);
    if (args.attrs.batchStatistics) w.simd.scaleShift2(w.address(dy), w.address(xv), w.address(dx), rows, channels, a.byteOffset, b.byteOffset, k.byteOffset);
    else w.simd.scaleShift(w.address(dy), w.address(dx), rows, channels, a.byteOffset, k.byteOffset);
    w.release();
    return w.outputs;
  }
  return runJsKernel(backend, inputs, [x.shape, [channels], [channels]], ([dyv, xv, mu, v, g], [dx, dScale, dOffset]) => {
    const size = xv!.length, rows = size / channels;
    const sumDy = new Float64Array(channels), sumDyCentred = new Float64Array(channels);
    for (let at = 0; at < size; ) {
      for (let c = 0; c < channels; c++, at++) {
        const d = dyv![at]!;
        sumDy[c]! += d;
        sumDyCentred[c]! += d * (xv![at]! - mu![c]!);
      }
    }
    const a = new Float64Array(channels), b = new Float64Array(channels), k = new Float64Array(channels);
    gradientCoefficients(sumDy, sumDyCentred, rows, mu!, v!, g!, args.attrs, dScale!, dOffset!, a, b, k);
    if (!args.attrs.batchStatistics) {
      for (let at = 0; at < size; ) for (let c = 0; c < channels; c++, at++) dx![at] = a[c]! * dyv![at]!;
      return;
    }
    for (let at = 0; at < size; ) for (let c = 0; c < channels; c++, at++) dx![at] = a[c]! * dyv![at]! + b[c]! * xv![at]! + k[c]!;
  }, true);
}

/** The fused kernels, registered for every backend fiveband runs on. */
export const batchNormKernelConfigs = (backendName: string): tf.KernelConfig[] => [
  { kernelName: BATCH_NORM_TRAINING, backendName, kernelFunc: batchNormTraining as unknown as tf.KernelFunc },
  { kernelName: BATCH_NORM_GRAD, backendName, kernelFunc: batchNormGrad as unknown as tf.KernelFunc },
];

function runGrad(dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, scale: tf.Tensor, attrs: GradAttrs): tf.Tensor[] {
  return tf.engine().runKernel(BATCH_NORM_GRAD, { dy, x, mean, variance, scale } as unknown as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/**
 * Training-mode BatchNorm: y = γ·(x − μ)/√(σ² + ε) + β with the batch's mean μ and biased variance σ² over
 * every axis but the last, which are returned too, for running statistics: they carry no gradient
 * (a loss built on them would not be differentiated through them).
 */
export function batchNormTrainingOp(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, varianceEpsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  const channels = x.shape[x.shape.length - 1]!;
  if (x.dtype !== 'float32' || scale.size !== channels || offset.size !== channels) {
    throw new Error(`batchNormTraining: needs float32 x and a scale and offset of ${channels} values (x ${x.dtype} [${x.shape.join(', ')}], scale ${scale.size}, offset ${offset.size})`);
  }
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale, offset } as unknown as tf.NamedTensorMap,
    { varianceEpsilon } as unknown as tf.NamedAttrMap) as [tf.Tensor, tf.Tensor, tf.Tensor];
  return { y, mean, variance };
}

const trainingGrad: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    // The engine passes zeros for the statistics outputs when nothing differentiable uses them.
    const [dy] = dys as tf.Tensor[];
    const [x, scale, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const { varianceEpsilon } = attrs as unknown as TrainingAttrs;
    const [dx, dScale, dOffset] = runGrad(dy!, x, mean, variance, scale, { varianceEpsilon, batchStatistics: true });
    return { x: () => dx!, scale: () => dScale!, offset: () => dOffset! };
  },
};

/**
 * tfjs-core's FusedBatchNorm (fixed statistics: eval mode) gradient tiles the statistics to the full map;
 * this one is the fused kernel, plus the mean and variance terms from its channel sums:
 * dμ = −γ/σ · Σdy, dσ² = −γ/(2σ²) · Σ dy·x̂.
 */
const fusedBatchNormGrad: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale', 'offset'],
  gradFunc: (dy, saved, attrs) => {
    const [x, mean, variance, scale, offset] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined, tf.Tensor | undefined];
    const { varianceEpsilon } = attrs as unknown as TrainingAttrs;
    const channels = x.shape[x.shape.length - 1]!;
    if (mean.size !== channels || variance.size !== channels || (scale !== undefined && scale.size !== channels)) {
      throw new Error(`batchNorm gradient: statistics and scale must be per channel (${channels} values)`);
    }
    const gamma = scale ? tf.reshape(scale, [channels]) : tf.ones([channels]);
    const varPlusEps = tf.add(tf.reshape(variance, [channels]), varianceEpsilon);
    // Computed once, here: the engine runs each input's thunk in its own tidy scope.
    const [dx, dScale, dOffset] = runGrad(dy as tf.Tensor, x, tf.reshape(mean, [channels]), tf.reshape(variance, [channels]), gamma,
      { varianceEpsilon, batchStatistics: false }) as [tf.Tensor, tf.Tensor, tf.Tensor];
    return {
      x: () => dx,
      scale: () => tf.reshape(dScale, scale?.shape ?? [channels]),
      offset: () => tf.reshape(dOffset, offset?.shape ?? [channels]),
      mean: () => tf.reshape(tf.neg(tf.mul(tf.mul(dOffset, tf.rsqrt(varPlusEps)), gamma)), mean.shape),
      variance: () => tf.reshape(tf.mul(tf.mul(dScale, tf.div(gamma, varPlusEps)), -0.5), variance.shape),
    };
  },
};

export const BATCH_NORM_GRADIENTS: readonly tf.GradConfig[] = [trainingGrad, fusedBatchNormGrad];
