import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BATCH_NORM_GRAD, BATCH_NORM_TRAINING } from './batch-norm.js';

/**
 * The native backend: tfjs's cpu backend (tensors are plain Float32Arrays, every cpu kernel stays as the
 * fallback) with the heavy kernels in C++ on oneDNN (native/src). Outputs are allocated here, in V8, and filled
 * by the addon, so a disposed tensor is ordinary garbage and no native memory outlives a call.
 */

type Geometry = number[];

export interface NativeAddon {
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, relu: boolean, y: Float32Array, g: Geometry): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, g: Geometry): void;
  conv2dBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, g: Geometry): void;
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, dims: Geometry): void;
  maxPool(x: Float32Array, y: Float32Array, g: Geometry): void;
  avgPool(x: Float32Array, y: Float32Array, g: Geometry): void;
  maxPoolBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, g: Geometry): void;
  avgPoolBackward(dy: Float32Array, dx: Float32Array, g: Geometry): void;
  batchNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, dims: Geometry, eps: number): void;
  batchNormBackward(x: Float32Array, dy: Float32Array, gamma: Float32Array, mean: Float32Array, variance: Float32Array,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dims: Geometry, eps: number, batchStatistics: boolean): void;
  setThreads(threads: number): void;
  describe(): { library: string; isa: string; threads: number };
}

const ADDON_PATH = new URL('../../../native/build/Release/fiveband_native.node', import.meta.url);

let loaded: { addon: NativeAddon } | { error: string } | undefined;

/** The addon, or why it is not there (not built: no oneDNN at install time; or it failed to load). */
export function loadNativeAddon(): { addon: NativeAddon } | { error: string } {
  if (loaded === undefined) {
    try {
      loaded = { addon: createRequire(import.meta.url)(ADDON_PATH.pathname) as NativeAddon };
    } catch (e) {
      const message = (e as Error).message.split('\n')[0]!;
      loaded = { error: /Cannot find module/.test(message) ? 'not built (install libdnnl-dev, then npm ci)' : message };
    }
  }
  return loaded;
}

function addon(): NativeAddon {
  const state = loadNativeAddon();
  if ('error' in state) throw new Error(`native backend: ${state.error}`);
  return state.addon;
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs: Record<string, unknown>;
}

const values = (backend: MathBackendCPU, info: tf.TensorInfo): Float32Array => {
  if (info.dtype !== 'float32') throw new Error(`native kernel: float32 expected, got ${info.dtype}`);
  return backend.data.get(info.dataId).values as Float32Array;
};

function output(backend: MathBackendCPU, shape: number[], fill: (out: Float32Array) => void): tf.TensorInfo {
  const out = new Float32Array(tf.util.sizeFromShape(shape));
  fill(out);
  return backend.makeTensorInfo(shape, 'float32', out);
}

type Shape4 = [number, number, number, number];

function convGeometry(info: tf.backend_util.Conv2DInfo): Geometry {
  const { top, left, bottom, right } = info.padInfo;
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    top, left, bottom, right];
}

function poolGeometry(info: tf.backend_util.Conv2DInfo): Geometry {
  const { top, left, bottom, right } = info.padInfo;
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, top, left, bottom, right];
}

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

const channelsLast = (attrs: { dataFormat?: string }) => attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';

function convInfo(inShape: Shape4, filterShape: Shape4, attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(inShape, filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
}

/** Each native kernel, with the cpu kernel it replaces as the fallback for what it does not cover (NCHW, int dtypes). */
function nativeKernels(cpuKernel: (name: string) => tf.KernelFunc): tf.KernelConfig[] {
  const withFallback = (kernelName: string, covers: (args: KernelArgs) => boolean, run: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]): tf.KernelConfig => {
    const fallback = cpuKernel(kernelName);
    const kernelFunc = ((args: KernelArgs) => (covers(args) ? run(args) : fallback(args as never))) as unknown as tf.KernelFunc;
    return { kernelName, backendName: 'native', kernelFunc };
  };
  const float32 = (args: KernelArgs) => Object.values(args.inputs).every((t) => t === undefined || t.dtype === 'float32');
  const convCovers = (args: KernelArgs) => float32(args) && channelsLast(args.attrs);
  return [
    withFallback(tf.Conv2D, convCovers, ({ inputs, backend, attrs }) => {
      const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
      const info = convInfo(x.shape as Shape4, filter.shape as Shape4, attrs as ConvAttrs);
      return output(backend, info.outShape, (y) => addon().conv2d(values(backend, x), values(backend, filter), null, false, y, convGeometry(info)));
    }),
    withFallback(tf.Conv2DBackpropInput, convCovers, ({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const { inputShape } = attrs as { inputShape: Shape4 };
      const info = convInfo(inputShape, filter.shape as Shape4, attrs as ConvAttrs);
      return output(backend, inputShape, (dx) => addon().conv2dBackwardData(values(backend, dy), values(backend, filter), dx, convGeometry(info)));
    }),
    withFallback(tf.Conv2DBackpropFilter, convCovers, ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const { filterShape } = attrs as { filterShape: Shape4 };
      const info = convInfo(x.shape as Shape4, filterShape, attrs as ConvAttrs);
      return output(backend, filterShape, (dw) => addon().conv2dBackwardWeights(values(backend, x), values(backend, dy), dw, convGeometry(info)));
    }),
    withFallback(tf.BatchMatMul, (args) => float32(args) && matmulBatches(args) !== undefined, (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      const { batchA, batchB, outer } = matmulBatches(args)!;
      const m = a.shape[a.shape.length - (transposeA ? 1 : 2)]!, k = a.shape[a.shape.length - (transposeA ? 2 : 1)]!;
      const n = b.shape[b.shape.length - (transposeB ? 2 : 1)]!;
      return output(args.backend, [...outer, m, n], (out) =>
        addon().matmul(values(args.backend, a), values(args.backend, b), out, [batchA, batchB, m, k, n, Number(transposeA), Number(transposeB)]));
    }),
    ...(['MaxPool', 'AvgPool'] as const).map((kind) => withFallback(kind, (args) => float32(args) && channelsLast(args.attrs), ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      const info = poolInfo(x.shape as Shape4, attrs);
      const run = kind === 'MaxPool' ? addon().maxPool : addon().avgPool;
      return output(backend, info.outShape, (y) => run(values(backend, x), y, poolGeometry(info)));
    })),
    withFallback(tf.MaxPoolGrad, float32, ({ inputs, backend, attrs }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const info = poolInfo(input.shape as Shape4, attrs);
      return output(backend, input.shape, (dx) => addon().maxPoolBackward(values(backend, input), values(backend, dy), dx, poolGeometry(info)));
    }),
    withFallback(tf.AvgPoolGrad, float32, ({ inputs, backend, attrs }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const info = poolInfo(input.shape as Shape4, attrs);
      return output(backend, input.shape, (dx) => addon().avgPoolBackward(values(backend, dy), dx, poolGeometry(info)));
    }),
    withFallback(BATCH_NORM_TRAINING, float32, ({ inputs, backend, attrs }) => {
      const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
      const channels = x!.shape[x!.shape.length - 1]!;
      const rows = tf.util.sizeFromShape(x!.shape) / channels;
      const y = new Float32Array(rows * channels), mean = new Float32Array(channels), variance = new Float32Array(channels);
      addon().batchNormForward(values(backend, x!), values(backend, scale!), values(backend, offset!), y, mean, variance, [rows, channels],
        attrs.varianceEpsilon as number);
      return [backend.makeTensorInfo(x!.shape, 'float32', y), backend.makeTensorInfo([channels], 'float32', mean),
        backend.makeTensorInfo([channels], 'float32', variance)];
    }),
    withFallback(BATCH_NORM_GRAD, float32, ({ inputs, backend, attrs }) => {
      const { dy, x, mean, variance, scale } = inputs as Record<string, tf.TensorInfo>;
      const channels = x!.shape[x!.shape.length - 1]!;
      const rows = tf.util.sizeFromShape(x!.shape) / channels;
      const dx = new Float32Array(rows * channels), dScale = new Float32Array(channels), dOffset = new Float32Array(channels);
      addon().batchNormBackward(values(backend, x!), values(backend, dy!), values(backend, scale!), values(backend, mean!), values(backend, variance!),
        dx, dScale, dOffset, [rows, channels], attrs.varianceEpsilon as number, attrs.batchStatistics as boolean);
      return [backend.makeTensorInfo(x!.shape, 'float32', dx), backend.makeTensorInfo([channels], 'float32', dScale),
        backend.makeTensorInfo([channels], 'float32', dOffset)];
    }),
  ];
}

function poolInfo(inShape: Shape4, attrs: Record<string, unknown>): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: ConvAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  return tf.backend_util.computePool2DInfo(inShape, filterSize, strides, 1, pad, dimRoundingMode);
}

/** The flattened batch counts of a BatchMatMul the addon runs: equal outer dims, or one side's all 1. */
function matmulBatches({ inputs, attrs }: KernelArgs): { batchA: number; batchB: number; outer: number[] } | undefined {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (a.shape.length < 2 || b.shape.length < 2) return undefined;
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA), batchB = tf.util.sizeFromShape(outerB);
  const kA = a.shape[a.shape.length - ((attrs.transposeA as boolean) ? 2 : 1)];
  const kB = b.shape[b.shape.length - ((attrs.transposeB as boolean) ? 1 : 2)];
  if (kA !== kB) return undefined;
  if (outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i])) return { batchA, batchB, outer: outerA };
  if (batchA === 1 && outerA.length <= outerB.length) return { batchA, batchB, outer: outerB };
  if (batchB === 1 && outerB.length <= outerA.length) return { batchA, batchB, outer: outerA };
  return undefined;
}

/** The native backend's name in tfjs's registry. */
export const NATIVE = 'native';

let registered = false;

/**
 * Registers the `native` tfjs backend: every kernel the cpu backend has at this moment (tfjs's own and the ones
 * fiveband patched or added), then the native ones over them. Call after the cpu kernels are final.
 */
export function registerNativeBackend(): void {
  if (registered) return;
  addon();
  tf.registerBackend(NATIVE, () => new MathBackendCPU(), 0);
  const cpu = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k]));
  for (const config of cpu.values()) tf.registerKernel({ ...config, backendName: NATIVE });
  const cpuKernel = (name: string): tf.KernelFunc => {
    const config = cpu.get(name);
    if (config === undefined) return () => { throw new Error(`native backend: no cpu fallback for ${name}`); };
    return config.kernelFunc;
  };
  for (const config of nativeKernels(cpuKernel)) {
    if (tf.getKernel(config.kernelName, NATIVE) !== undefined) tf.unregisterKernel(config.kernelName, NATIVE);
    tf.registerKernel(config);
  }
  registered = true;
}
