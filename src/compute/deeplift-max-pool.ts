import * as tf from '@tensorflow/tfjs-core';
import { runJsKernel } from './js-kernel.js';

/**
 * Captum's DeepLift rule for a 2-D max-pool as one kernel (native in C++; JavaScript on cpu and wasm). The batch
 * holds inputs then their references (row k and row k + half are partners); with y = pool(x), yr = pool(r) and
 * m = max(y, yr): U = unpool_x(dy_x · (m − yr)) + unpool_r(dy_r · (y − m)), gradient U / Δin for both halves, the
 * plain max-pool gradient where |Δin| < eps. unpool is PyTorch's max_unpool2d: each window writes its value at its
 * argmax (the first maximum in row-major window order, as max_pool2d picks it) by assignment, so when overlapping
 * windows share an argmax the later window (raster order) wins — Captum inherits this. Arithmetic is rounded to
 * float32 after every operation, like PyTorch's.
 */
export const DEEPLIFT_MAX_POOL = 'FivebandDeepLiftMaxPool';

/** Inclusive input row / column ranges of each output row / column of a 2-D max-pool. */
export interface PoolGeometry {
  rowStart: Int32Array;
  rowEnd: Int32Array;
  colStart: Int32Array;
  colEnd: Int32Array;
}

/** The geometry as one int32 vector [rowStart, rowEnd, colStart, colEnd] (how kernels take it). */
export function packPoolGeometry(g: PoolGeometry): Int32Array {
  const packed = new Int32Array(2 * (g.rowStart.length + g.colStart.length));
  packed.set(g.rowStart, 0);
  packed.set(g.rowEnd, g.rowStart.length);
  packed.set(g.colStart, 2 * g.rowStart.length);
  packed.set(g.colEnd, 2 * g.rowStart.length + g.colStart.length);
  return packed;
}

interface MaxPoolRuleAttrs {
  /** packPoolGeometry's vector, as numbers (kernel attributes). */
  geometry: number[];
  eps: number;
}

interface MaxPoolRuleShape {
  rows: number;
  height: number;
  width: number;
  channels: number;
  outHeight: number;
  outWidth: number;
}

/** The kernel's shapes, checked: x [rows, height, width, channels], y and dy [rows, outHeight, outWidth, channels]. */
export function deepLiftMaxPoolShapes(x: tf.TensorInfo, y: tf.TensorInfo, dy: tf.TensorInfo, geometry: readonly number[]): MaxPoolRuleShape {
  const [rows, height, width, channels] = x.shape as [number, number, number, number];
  const [, outHeight, outWidth] = y.shape as [number, number, number, number];
  if (x.shape.length !== 4 || y.shape.length !== 4 || rows % 2 !== 0) throw new Error('deepLiftMaxPool: 4-D inputs and references (even rows) expected');
  if (!tf.util.arraysEqual(dy.shape, y.shape) || y.shape[0] !== rows || y.shape[3] !== channels) throw new Error('deepLiftMaxPool: dy and y must have the pooled shape');
  if (geometry.length !== 2 * (outHeight + outWidth)) throw new Error('deepLiftMaxPool: the geometry does not match the pooled shape');
  for (let i = 0; i < geometry.length; i++) {
    const limit = i < 2 * outHeight ? height : width;
    if (!(geometry[i]! >= 0 && geometry[i]! < limit)) throw new Error('deepLiftMaxPool: a window lies outside the input');
  }
  return { rows, height, width, channels, outHeight, outWidth };
}

function deepLiftMaxPool(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: MaxPoolRuleAttrs }): tf.TensorInfo {
  const { x, y, dy } = args.inputs as Record<'x' | 'y' | 'dy', tf.TensorInfo>;
  const g = args.attrs.geometry;
  const s = deepLiftMaxPoolShapes(x, y, dy, g);
  const [out] = runJsKernel(args.backend, [x, y, dy], [x.shape], ([input, output, grads], [grad]) => {
    const half = s.rows / 2;
    const plane = s.height * s.width * s.channels;
    const outPlane = s.outHeight * s.outWidth * s.channels;
    const [rowStart, rowEnd, colStart, colEnd] = [0, s.outHeight, 2 * s.outHeight, 2 * s.outHeight + s.outWidth];
    const f = Math.fround;
    const threshold = f(args.attrs.eps); // PyTorch compares in float32
    const argmax = new Int32Array(s.rows * outPlane);
    for (let row = 0; row < s.rows; row++) {
      for (let oh = 0; oh < s.outHeight; oh++) {
        for (let ow = 0; ow < s.outWidth; ow++) {
          for (let c = 0; c < s.channels; c++) {
            let best = -Infinity;
            let bestIndex = (g[rowStart + oh]! * s.width + g[colStart + ow]!) * s.channels + c;
            for (let h = g[rowStart + oh]!; h <= g[rowEnd + oh]!; h++) {
              for (let w = g[colStart + ow]!; w <= g[colEnd + ow]!; w++) {
                const index = (h * s.width + w) * s.channels + c;
                const v = input![row * plane + index]!;
                if (v > best || Number.isNaN(v)) {
                  best = v;
                  bestIndex = index;
                  if (Number.isNaN(v)) break;
                }
              }
            }
            argmax[row * outPlane + (oh * s.outWidth + ow) * s.channels + c] = bestIndex;
          }
        }
      }
    }
    const unpooled = new Float32Array(plane);
    const unpooledRef = new Float32Array(plane);
    const plainX = new Float32Array(plane);
    const plainR = new Float32Array(plane);
    for (let i = 0; i < half; i++) {
      const [xRow, rRow] = [i, half + i];
      unpooled.fill(0);
      unpooledRef.fill(0);
      plainX.fill(0);
      plainR.fill(0);
      // Raster order over outputs: a later window overwrites an earlier one at a shared argmax (assignment).
      for (let o = 0; o < outPlane; o++) {
        const yx = output![xRow * outPlane + o]!;
        const yr = output![rRow * outPlane + o]!;
        const m = Math.max(yx, yr);
        const gx = grads![xRow * outPlane + o]!;
        const gr = grads![rRow * outPlane + o]!;
        const ax = argmax[xRow * outPlane + o]!;
        const ar = argmax[rRow * outPlane + o]!;
        unpooled[ax] = f(gx * f(m - yr));
        unpooledRef[ar] = f(gr * f(yx - m));
        plainX[ax] = f(plainX[ax]! + gx);
        plainR[ar] = f(plainR[ar]! + gr);
      }
      for (let p = 0; p < plane; p++) {
        const dIn = f(input![xRow * plane + p]! - input![rRow * plane + p]!);
        const small = Math.abs(dIn) < threshold;
        const multiplier = f(f(unpooled[p]! + unpooledRef[p]!) / dIn);
        grad![xRow * plane + p] = small ? plainX[p]! : multiplier;
        grad![rRow * plane + p] = small ? plainR[p]! : multiplier;
      }
    }
  }, true);
  return out!;
}

export const deepLiftMaxPoolKernelConfigs = (backendName: string): tf.KernelConfig[] => [
  { kernelName: DEEPLIFT_MAX_POOL, backendName, kernelFunc: deepLiftMaxPool as unknown as tf.KernelFunc },
];

/** DeepLift's gradient through a max-pool whose input `x` and output `y` hold inputs then references. */
export function deepLiftMaxPoolOp(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, geometry: PoolGeometry, eps: number): tf.Tensor {
  const attrs: MaxPoolRuleAttrs = { geometry: Array.from(packPoolGeometry(geometry)), eps };
  return tf.engine().runKernel(DEEPLIFT_MAX_POOL, { dy, x, y } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
