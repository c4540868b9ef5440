import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { ADAM_UPDATE, type AdamCoefficients } from './adam-update.js';
import { BATCH_NORM_GRAD, BATCH_NORM_TRAINING } from './batch-norm.js';
import { RELU_GRAD } from './relu-grad.js';
import { STABILISED_DIVIDE } from './stabilised-divide.js';
import { CONV2D_BIAS } from './conv-bias.js';
import { DEEPLIFT_RESCALE } from './deeplift-rescale.js';
import { OutputPool } from './output-pool.js';
import { DEEPLIFT_MAX_POOL, deepLiftMaxPoolShapes } from './deeplift-max-pool.js';

/**
 * The native backend: tfjs's cpu backend (tensors are plain Float32Arrays, every cpu kernel stays as the
 * fallback) with the heavy kernels in C++ on oneDNN (native/src). Outputs are allocated here, in V8, and filled
 * by the addon, so a disposed tensor is ordinary garbage and no native memory outlives a call.
 */

type Geometry = number[];

export interface NativeAddon {
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, relu: boolean, y: Float32Array, g: Geometry, filterId: number): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, g: Geometry, filterId: number): void;
  releaseFilter(filterId: number): void;
  conv2dBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, g: Geometry): void;
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, dims: Geometry): void;
  maxPool(x: Float32Array, y: Float32Array, g: Geometry): void;
  avgPool(x: Float32Array, y: Float32Array, g: Geometry): void;
  maxPoolBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, g: Geometry): void;
  avgPoolBackward(dy: Float32Array, dx: Float32Array, g: Geometry): void;
  batchNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, dims: Geometry, eps: number): void;
  batchNormInference(x: Float32Array, mean: Float32Array, variance: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, dims: Geometry, eps: number): void;
  batchNormBackward(x: Float32Array, dy: Float32Array, gamma: Float32Array, mean: Float32Array, variance: Float32Array,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dims: Geometry, eps: number, batchStatistics: boolean): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: number[], aStrides: number[], bStrides: number[]): void;
  compare(op: number, a: Float32Array, b: Float32Array, out: Uint8Array, shape: number[], aStrides: number[], bStrides: number[]): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, dims: Geometry): void;
  slice(x: Float32Array, out: Float32Array, shape: number[], begin: number[], size: number[]): void;
  transpose(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void;
  pad(x: Float32Array, out: Float32Array, shape: number[], before: number[], outShape: number[], value: number): void;
  softmax(x: Float32Array, out: Float32Array, dims: Geometry): void;
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  adamUpdate(value: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, valueOut: Float32Array, mOut: Float32Array, vOut: Float32Array, coefficients: number[]): void;
  segmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, dims: Geometry): void;
  stabilisedDivide(a: Float32Array, b: Float32Array, out: Float32Array, eps: number): void;
  fillNormal(state: Uint32Array, out: Float32Array, mean: number, sd: number, x: Float64Array, ratio: Float64Array, r: number): void;
  deepLiftRescale(dy: Float32Array, x: Float32Array, y: Float32Array, plain: Float32Array | null, out: Float32Array, slope: number, eps: number): void;
  deepLiftMaxPool(input: Float32Array, output: Float32Array, dy: Float32Array, grad: Float32Array, geometry: Int32Array, shape: Geometry, eps: number): void;
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

/**
 * Most bytes of freed kernel outputs kept for reuse (per thread). A training step at 224 frees more than 256 MB of
 * activations: with that cap the rest became garbage and the next step's outputs fresh pages (ResNet34 at 224 trained
 * 66 img/s with 256 MB, 95 with 512 MB; VGG16 23, 25 and 31 with 1 GB), and the resident set did not grow.
 */
const POOL_LIMIT_BYTES = 1024 * 2 ** 20;

/**
 * The cpu backend plus two things. Ids for convolution filters: tfjs tensors are immutable, so a filter's dataId
 * names its contents and the addon keeps its reorder into oneDNN's layout across calls (an attribution method runs
 * the same weights forward and backward many times); released when tfjs frees the tensor.
 * And a pool of the native kernels' outputs: a freed output's array is handed to the next output of its size. Every
 * new array is external memory to V8, which answered a few hundred MB of them a second with a scavenge every few
 * milliseconds (a fifth of an LRP call). An array is reused only if nothing else can still see it: one that was read
 * out (dataSync, data) or that another tensor views (the cpu backend's contiguous slices are subarrays) is left to the
 * garbage collector.
 */
class NativeBackend extends MathBackendCPU {
  private readonly filterIds = new WeakMap<object, number>();
  private nextFilterId = 1;
  private readonly pool = new OutputPool(POOL_LIMIT_BYTES);
  /** Every array the pool made; those in `seen` were read out or viewed and never come back. */
  private readonly pooled = new WeakSet<ArrayBuffer>();
  private readonly seen = new WeakSet<ArrayBuffer>();
  private readonly owners = new WeakMap<object, Float32Array>();
  private adopting: Float32Array | null = null;

  filterId(info: tf.TensorInfo): number {
    let id = this.filterIds.get(info.dataId);
    if (id === undefined) {
      id = this.nextFilterId++;
      this.filterIds.set(info.dataId, id);
    }
    return id;
  }

  /**
   * A float32 array for a kernel's output, not zero-filled (every native kernel writes all of it: calloc's zeroing
   * was a full extra pass over every activation); a freed output of the same size when there is one.
   */
  uninitialised(size: number): Float32Array {
    const reused = this.pool.take(size);
    if (reused !== undefined) return reused;
    const fresh = new Float32Array(Buffer.allocUnsafeSlow(size * 4).buffer, 0, size);
    this.pooled.add(fresh.buffer);
    return fresh;
  }

  /** A tensor over an array from `uninitialised`, returned to the pool when the tensor is freed. */
  adopt(shape: number[], values: Float32Array): tf.TensorInfo {
    this.adopting = values;
    const info = this.makeTensorInfo(shape, 'float32', values);
    this.adopting = null;
    this.owners.set(info.dataId, values);
    return info;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object {
    if (ArrayBuffer.isView(values) && values !== this.adopting && this.pooled.has(values.buffer as ArrayBuffer)) this.seen.add(values.buffer as ArrayBuffer);
    return super.write(values, shape, dtype);
  }

  override readSync(dataId: object): tf.backend_util.BackendValues {
    const values = this.data.get(dataId)?.values;
    if (ArrayBuffer.isView(values)) this.seen.add(values.buffer as ArrayBuffer);
    return super.readSync(dataId);
  }

  override disposeData(dataId: object, force?: boolean): boolean {
    const freed = super.disposeData(dataId, force);
    if (this.data.has(dataId)) return freed;
    const id = this.filterIds.get(dataId);
    if (id !== undefined) {
      addon().releaseFilter(id);
      this.filterIds.delete(dataId);
    }
    const values = this.owners.get(dataId);
    if (values !== undefined) {
      this.owners.delete(dataId);
      if (!this.seen.has(values.buffer as ArrayBuffer)) this.pool.give(values);
    }
    return freed;
  }
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: NativeBackend;
  attrs: Record<string, unknown>;
}

const values = (backend: MathBackendCPU, info: tf.TensorInfo): Float32Array => {
  if (info.dtype !== 'float32') throw new Error(`native kernel: float32 expected, got ${info.dtype}`);
  const data = backend.data.get(info.dataId).values;
  // Some cpu kernels keep a float32 result in another typed array (a cast from bool stays a Uint8Array).
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
};

function output(backend: NativeBackend, shape: number[], fill: (out: Float32Array) => void): tf.TensorInfo {
  const out = backend.uninitialised(tf.util.sizeFromShape(shape));
  fill(out);
  return backend.adopt(shape, out);
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
  type Run<P> = (args: KernelArgs, plan: P) => tf.TensorInfo | tf.TensorInfo[];
  /** A kernel whose `plan` (undefined: not covered, the cpu kernel runs) is computed once and handed to `run`. */
  const withPlan = <P>(kernelName: string, plan: (args: KernelArgs) => P | undefined, run: Run<P>): tf.KernelConfig => {
    const fallback = cpuKernel(kernelName);
    const kernelFunc = ((args: KernelArgs) => {
      const withAttrs = { ...args, attrs: args.attrs ?? {} };
      const planned = plan(withAttrs);
      return planned === undefined ? fallback(args as never) : run(withAttrs, planned);
    }) as unknown as tf.KernelFunc;
    return { kernelName, backendName: 'native', kernelFunc };
  };
  const withFallback = (kernelName: string, covers: (args: KernelArgs) => boolean, run: Run<true>): tf.KernelConfig =>
    withPlan(kernelName, (args) => (covers(args) ? true : undefined), run);
  const float32 = (args: KernelArgs) => Object.values(args.inputs).every((t) => t === undefined || t.dtype === 'float32');
  const convCovers = (args: KernelArgs) => float32(args) && channelsLast(args.attrs);
  return [
    withFallback(tf.Conv2D, convCovers, ({ inputs, backend, attrs }) => {
      const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
      const info = convInfo(x.shape as Shape4, filter.shape as Shape4, attrs as ConvAttrs);
      return output(backend, info.outShape, (y) => addon().conv2d(values(backend, x), values(backend, filter), null, false, y, convGeometry(info), backend.filterId(filter)));
    }),
    withFallback(CONV2D_BIAS, (args) => convCovers(args) && args.inputs.bias!.shape.length === 1, ({ inputs, backend, attrs }) => {
      const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
      const info = convInfo(x.shape as Shape4, filter.shape as Shape4, attrs as ConvAttrs);
      return output(backend, info.outShape, (y) => addon().conv2d(values(backend, x), values(backend, filter), values(backend, bias), false, y, convGeometry(info), backend.filterId(filter)));
    }),
    withFallback(tf.Conv2DBackpropInput, convCovers, ({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const { inputShape } = attrs as { inputShape: Shape4 };
      const info = convInfo(inputShape, filter.shape as Shape4, attrs as ConvAttrs);
      return output(backend, inputShape, (dx) => addon().conv2dBackwardData(values(backend, dy), values(backend, filter), dx, convGeometry(info), backend.filterId(filter)));
    }),
    withFallback(tf.Conv2DBackpropFilter, convCovers, ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const { filterShape } = attrs as { filterShape: Shape4 };
      const info = convInfo(x.shape as Shape4, filterShape, attrs as ConvAttrs);
      return output(backend, filterShape, (dw) => addon().conv2dBackwardWeights(values(backend, x), values(backend, dy), dw, convGeometry(info)));
    }),
    withPlan(tf.BatchMatMul, (args) => (float32(args) ? matmulBatches(args) : undefined), (args, { batchA, batchB, outer }) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
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
    ...Object.entries(BINARY_OPS).map(([kernelName, op]) => withPlan(kernelName, (args) => (float32(args) ? broadcastStrides(args) : undefined), (args, { outShape, shape, aStrides, bStrides }) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      return output(args.backend, outShape, (out) => addon().binary(op, values(args.backend, a), values(args.backend, b), out, shape, aStrides, bStrides));
    })),
    ...Object.entries(COMPARE_OPS).map(([kernelName, op]) => withPlan(kernelName, (args) => (float32(args) ? broadcastStrides(args) : undefined), (args, { outShape, shape, aStrides, bStrides }) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const size = tf.util.sizeFromShape(outShape);
      const out = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
      addon().compare(op, values(args.backend, a), values(args.backend, b), out, shape, aStrides, bStrides);
      return args.backend.makeTensorInfo(outShape, 'bool', out);
    })),
    ...Object.entries(UNARY_OPS).map(([kernelName, op]) => withFallback(kernelName, float32, ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      return output(backend, x.shape, (out) => addon().unary(op, values(backend, x), out, (attrs.alpha as number | undefined) ?? 0));
    })),
    ...Object.entries(REDUCE_OPS).map(([kernelName, op]) => withPlan(kernelName, (args) => (float32(args) ? reduction(args) : undefined), (args, { outer, length, inner, outShape }) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      return output(args.backend, outShape, (out) => addon().reduce(op, values(args.backend, x), out, [outer, length, inner]));
    })),
    withPlan(tf.Slice, (args) => {
      if (!float32(args)) return undefined;
      const { x } = args.inputs as { x: tf.TensorInfo };
      const [begin, size] = tf.slice_util.parseSliceParams(x, args.attrs.begin as number[], args.attrs.size as number[]) as [number[], number[]];
      // A contiguous slice is a view on the cpu backend (no copy): the fallback is faster.
      return x.shape.length >= 1 && x.shape.length <= 8 && !tf.slice_util.isSliceContinous(x.shape, begin, size) ? { begin, size } : undefined;
    }, ({ inputs, backend }, { begin, size }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      return output(backend, size, (out) => addon().slice(values(backend, x), out, x.shape, begin, size));
    }),
    withFallback(tf.Transpose, (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      return float32(args) && x.shape.length >= 1 && x.shape.length <= 8 && tf.util.sizeFromShape(x.shape) > 0;
    }, ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      const perm = attrs.perm as number[];
      return output(backend, perm.map((p) => x.shape[p]!), (out) => addon().transpose(values(backend, x), out, x.shape, perm));
    }),
    withFallback(tf.PadV2, (args) => float32(args) && (args.inputs.x as tf.TensorInfo).shape.length >= 1 && (args.inputs.x as tf.TensorInfo).shape.length <= 8, ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      const paddings = attrs.paddings as [number, number][];
      const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
      return output(backend, outShape, (out) => addon().pad(values(backend, x), out, x.shape, paddings.map((p) => p[0]), outShape, attrs.constantValue as number));
    }),
    withFallback(tf.Softmax, (args) => {
      const { logits } = args.inputs as { logits: tf.TensorInfo };
      const dim = args.attrs.dim as number;
      return float32(args) && logits.shape.length >= 1 && (dim === -1 || dim === logits.shape.length - 1);
    }, ({ inputs, backend }) => {
      const { logits } = inputs as { logits: tf.TensorInfo };
      const length = logits.shape[logits.shape.length - 1]!;
      return output(backend, logits.shape, (out) => addon().softmax(values(backend, logits), out, [tf.util.sizeFromShape(logits.shape) / length, length]));
    }),
    // Row gathers and their gradient (IntegratedGradients, the SHAP methods): the cpu backend's per-element index
    // arithmetic made these the bulk of an attribution; here whole rows are copied or added.
    withPlan(tf.GatherV2, gatherRows, (args, { outer, dim, inner, outShape }) => {
      const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const xv = values(args.backend, x), ids = args.backend.data.get(indices.dataId).values as Int32Array;
      return output(args.backend, outShape, (out) => {
        for (let o = 0, at = 0; o < outer; o++) {
          for (const id of ids) {
            const from = (o * dim + id) * inner;
            // Short rows element by element: a subarray and a set per row of one value (Grad-CAM's nearest upsampling
            // of a one-channel map) cost ~100 ns each.
            if (inner < 16) for (let k = 0; k < inner; k++) out[at + k] = xv[from + k]!;
            else out.set(xv.subarray(from, from + inner), at);
            at += inner;
          }
        }
      });
    }),
    withFallback(tf.UnsortedSegmentSum, (args) => {
      const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      return x.dtype === 'float32' && segmentIds.dtype === 'int32';
    }, ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const segments = attrs.numSegments as number;
      const ids = backend.data.get(segmentIds.dataId).values as Int32Array;
      const rowShape = x.shape.slice(segmentIds.shape.length);
      const inner = tf.util.sizeFromShape(rowShape);
      return output(backend, [segments, ...rowShape], (out) => addon().segmentSum(values(backend, x), ids, out, [ids.length, inner, segments]));
    }),
    withFallback(STABILISED_DIVIDE, (args) => float32(args) && tf.util.arraysEqual(args.inputs.a!.shape, args.inputs.b!.shape), ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      return output(backend, a.shape, (out) => addon().stabilisedDivide(values(backend, a), values(backend, b), out, (attrs as { eps: number }).eps));
    }),
    withFallback(DEEPLIFT_RESCALE, float32, ({ inputs, backend, attrs }) => {
      const { dy, x, y, plain } = inputs as Record<'dy' | 'x' | 'y', tf.TensorInfo> & { plain?: tf.TensorInfo };
      const { slope, eps } = attrs as { slope: number; eps: number };
      return output(backend, x.shape, (out) => addon().deepLiftRescale(values(backend, dy), values(backend, x), values(backend, y),
        plain === undefined ? null : values(backend, plain), out, slope, eps));
    }),
    withFallback(DEEPLIFT_MAX_POOL, float32, ({ inputs, backend, attrs }) => {
      const { x, y, dy } = inputs as Record<'x' | 'y' | 'dy', tf.TensorInfo>;
      const { geometry, eps } = attrs as { geometry: number[]; eps: number };
      const s = deepLiftMaxPoolShapes(x, y, dy, geometry);
      return output(backend, x.shape, (grad) => addon().deepLiftMaxPool(values(backend, x), values(backend, y), values(backend, dy), grad,
        Int32Array.from(geometry), [s.rows, s.height, s.width, s.channels, s.outHeight, s.outWidth], eps));
    }),
    withFallback(RELU_GRAD, float32, ({ inputs, backend }) => {
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      return output(backend, x.shape, (dx) => addon().reluGrad(values(backend, dy), values(backend, x), dx));
    }),
    withFallback(ADAM_UPDATE, float32, ({ inputs, backend, attrs }) => {
      const { value, grad, m, v } = inputs as Record<'value' | 'grad' | 'm' | 'v', tf.TensorInfo>;
      const c = attrs as unknown as AdamCoefficients;
      const n = tf.util.sizeFromShape(value.shape);
      const outs = [0, 1, 2].map(() => backend.uninitialised(n)) as [Float32Array, Float32Array, Float32Array];
      addon().adamUpdate(values(backend, value), values(backend, grad), values(backend, m), values(backend, v), ...outs,
        [c.beta1, c.beta2, c.weightDecay, c.stepSize, c.sqrtBias2, c.eps]);
      return outs.map((out) => backend.adopt(value.shape, out));
    }),
    withFallback(BATCH_NORM_TRAINING, float32, ({ inputs, backend, attrs }) => {
      const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
      const channels = x!.shape[x!.shape.length - 1]!;
      const rows = tf.util.sizeFromShape(x!.shape) / channels;
      const y = backend.uninitialised(rows * channels), mean = new Float32Array(channels), variance = new Float32Array(channels);
      addon().batchNormForward(values(backend, x!), values(backend, scale!), values(backend, offset!), y, mean, variance, [rows, channels],
        attrs.varianceEpsilon as number);
      return [backend.adopt(x!.shape, y), backend.makeTensorInfo([channels], 'float32', mean),
        backend.makeTensorInfo([channels], 'float32', variance)];
    }),
    // Eval-mode BatchNorm (every ResNet34 attribution): per-channel statistics, scale and offset over the last axis.
    withFallback(tf.FusedBatchNorm, (args) => {
      const { x, mean, variance, scale, offset } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const channels = x!.shape[x!.shape.length - 1];
      return float32(args) && scale !== undefined && offset !== undefined && tf.util.sizeFromShape(x!.shape) > 0
        && [mean, variance, scale, offset].every((t) => t!.shape.length === 1 && t!.shape[0] === channels);
    }, ({ inputs, backend, attrs }) => {
      const { x, mean, variance, scale, offset } = inputs as Record<string, tf.TensorInfo>;
      const channels = x!.shape[x!.shape.length - 1]!;
      const rows = tf.util.sizeFromShape(x!.shape) / channels;
      return output(backend, x!.shape, (y) => addon().batchNormInference(values(backend, x!), values(backend, mean!), values(backend, variance!),
        values(backend, scale!), values(backend, offset!), y, [rows, channels], (attrs.varianceEpsilon as number | undefined) ?? 0.001));
    }),
    withFallback(BATCH_NORM_GRAD, float32, ({ inputs, backend, attrs }) => {
      const { dy, x, mean, variance, scale } = inputs as Record<string, tf.TensorInfo>;
      const channels = x!.shape[x!.shape.length - 1]!;
      const rows = tf.util.sizeFromShape(x!.shape) / channels;
      const dx = backend.uninitialised(rows * channels), dScale = new Float32Array(channels), dOffset = new Float32Array(channels);
      addon().batchNormBackward(values(backend, x!), values(backend, dy!), values(backend, scale!), values(backend, mean!), values(backend, variance!),
        dx, dScale, dOffset, [rows, channels], attrs.varianceEpsilon as number, attrs.batchStatistics as boolean);
      return [backend.adopt(x!.shape, dx), backend.makeTensorInfo([channels], 'float32', dScale),
        backend.makeTensorInfo([channels], 'float32', dOffset)];
    }),
  ];
}

/** Operation codes of native/src/kernels.h. */
const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6 };
const COMPARE_OPS: Record<string, number> = { Less: 0, LessEqual: 1, Greater: 2, GreaterEqual: 3, Equal: 4, NotEqual: 5 };
const UNARY_OPS: Record<string, number> = { Relu: 0, LeakyRelu: 1, Exp: 2, Log: 3, Neg: 4, Sqrt: 5, Rsqrt: 6, Square: 7, Abs: 8 };
const REDUCE_OPS: Record<string, number> = { Sum: 0, Mean: 1, Max: 2, Min: 3 };

/** The output shape, the walked shape (rank ≥ 1) and each input's element strides over it, 0 where it broadcasts; rank ≤ 8. */
function broadcastStrides({ inputs }: KernelArgs): { outShape: number[]; shape: number[]; aStrides: number[]; bStrides: number[] } | undefined {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const out = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  if (out.length > 8 || tf.util.sizeFromShape(out) === 0) return undefined;
  const shape = out.length === 0 ? [1] : out;
  const stridesOf = (inShape: number[]) => {
    const strides = new Array<number>(shape.length).fill(0);
    let stride = 1;
    for (let i = inShape.length - 1, d = shape.length - 1; i >= 0; i--, d--) {
      strides[d] = inShape[i] === 1 ? 0 : stride;
      stride *= inShape[i]!;
    }
    return strides;
  };
  // Adjacent dimensions that both operands walk contiguously (or both broadcast) merge into one: an NHWC image's
  // 3 channels were rows of 3 elements, each paying the per-row index arithmetic. Extent-1 dimensions walk nothing.
  const [aStrides, bStrides] = [stridesOf(a.shape), stridesOf(b.shape)];
  const dims = shape.map((extent, d) => ({ extent, a: aStrides[d]!, b: bStrides[d]! })).filter((dim) => dim.extent !== 1);
  const merged = [dims[0] ?? { extent: 1, a: 0, b: 0 }];
  for (const dim of dims.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (last.a === dim.a * dim.extent && last.b === dim.b * dim.extent) Object.assign(last, { extent: last.extent * dim.extent, a: dim.a, b: dim.b });
    else merged.push(dim);
  }
  return { outShape: out, shape: merged.map((d) => d.extent), aStrides: merged.map((d) => d.a), bStrides: merged.map((d) => d.b) };
}

/** A reduction over consecutive axes as [outer, length, inner], with its output shape; else undefined (fallback). */
function reduction({ inputs, attrs }: KernelArgs): { outer: number; length: number; inner: number; outShape: number[] } | undefined {
  const { x } = inputs as { x: tf.TensorInfo };
  if (x.shape.length === 0 || tf.util.sizeFromShape(x.shape) === 0) return undefined;
  // Max names its axes reductionIndices; Sum, Mean and Min name them axis.
  const axis = (attrs.axis ?? attrs.reductionIndices) as number | number[];
  const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
  if (axes.length === 0 || axes.some((axis, i) => axis !== axes[0]! + i)) return undefined;
  const first = axes[0]!, last = axes[axes.length - 1]!;
  const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
  const outShape = (attrs.keepDims as boolean) ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  return { outer: size(x.shape.slice(0, first)), length: size(x.shape.slice(first, last + 1)), inner: size(x.shape.slice(last + 1)), outShape };
}

function poolInfo(inShape: Shape4, attrs: Record<string, unknown>): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: ConvAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  return tf.backend_util.computePool2DInfo(inShape, filterSize, strides, 1, pad, dimRoundingMode);
}

/** A GatherV2 without batch dims, float32 values, int32 indices all in range, as outer × dim × inner; else undefined. */
function gatherRows({ inputs, attrs, backend }: KernelArgs): { outer: number; dim: number; inner: number; outShape: number[] } | undefined {
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  if (x.dtype !== 'float32' || indices.dtype !== 'int32' || ((attrs.batchDims as number | undefined) ?? 0) !== 0) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const dim = x.shape[axis]!;
  const ids = backend.data.get(indices.dataId).values as Int32Array;
  if (ids.some((id) => id < 0 || id >= dim)) return undefined; // the cpu kernel reports it
  const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
  return { outer: size(x.shape.slice(0, axis)), dim, inner: size(x.shape.slice(axis + 1)), outShape: [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)] };
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
  tf.registerBackend(NATIVE, () => new NativeBackend(), 0);
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
