import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm'; // registers the stock kernels captured below
import { heapAddress, simdKernels } from './simd.js';
import { type WasmKernelArgs, input } from './wasm-util.js';

/**
 * Sum and Mean on wasm over leading axes (a bias gradient: Σ over batch, rows and columns of an NHWC tensor;
 * batch-norm statistics). Stock tfjs-backend-wasm 4.22 first transposes the reduced axes innermost, a full copy
 * of the tensor with a slow strided gather (~60 ms for [16,224,224,16]), then reduces. Reducing axes 0 … r−1
 * of an [R, C] view needs no transpose: a single pass adding each row into C running sums (float64 here, so the
 * result is at least as accurate as stock's float32 accumulation; SIMD when C is a multiple of 4). Other axis
 * sets, other dtypes and full reductions (already innermost) stay stock.
 */
interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

type Reduce = (args: WasmKernelArgs<ReduceAttrs>) => tf.TensorInfo;

function stockKernel(name: string): tf.KernelConfig {
  const config = tf.getKernel(name, 'wasm');
  if (config === undefined) throw new Error(`tfjs-backend-wasm registered no ${name} kernel`);
  return config;
}

function leadingAxesReduce(stock: Reduce, mean: boolean): Reduce {
  return (args) => {
    const { backend, attrs } = args;
    const x = input(args, 'x');
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(attrs.axis, x.shape))].sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((axis, i) => axis === i);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    if (x.dtype !== 'float32' || !leading || rows === 0) return stock(args);
    const outShape = x.shape.slice(axes.length);
    const cols = tf.util.sizeFromShape(outShape);
    const out = backend.makeOutput(attrs.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape, 'float32');
    let sums: Float64Array;
    let scratch: tf.TensorInfo | null = null;
    if (cols % 4 === 0) {
      // The BatchNorm statistics kernel (its sums of squares are discarded).
      scratch = backend.makeOutput([4 * cols], 'float32');
      const at = heapAddress(backend, scratch);
      const heap = backend.typedArrayFromHeap(scratch).buffer;
      sums = new Float64Array(heap, at, cols).fill(0);
      const squares = new Float64Array(heap, at + 8 * cols, cols).fill(0);
      simdKernels(backend).channelSums(heapAddress(backend, x), rows, cols, sums.byteOffset, squares.byteOffset);
    } else {
      sums = new Float64Array(cols);
      const values = backend.typedArrayFromHeap(x) as Float32Array;
      for (let r = 0, at = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++, at++) sums[c]! += values[at]!;
      }
    }
    const target = backend.typedArrayFromHeap(out);
    for (let c = 0; c < cols; c++) target[c] = mean ? sums[c]! / rows : sums[c]!;
    if (scratch) backend.disposeData(scratch.dataId);
    return out;
  };
}

const stockSum = stockKernel(tf.Sum);
const stockMean = stockKernel(tf.Mean);

export const sumConfig: tf.KernelConfig = {
  kernelName: tf.Sum,
  backendName: 'wasm',
  // Binds stock's wasm function, which the patch falls back to (stock's setup does not run while unregistered).
  setupFunc: stockSum.setupFunc,
  kernelFunc: leadingAxesReduce(stockSum.kernelFunc as unknown as Reduce, false) as unknown as tf.KernelFunc,
};

export const meanConfig: tf.KernelConfig = {
  kernelName: tf.Mean,
  backendName: 'wasm',
  setupFunc: stockMean.setupFunc,
  kernelFunc: leadingAxesReduce(stockMean.kernelFunc as unknown as Reduce, true) as unknown as tf.KernelFunc,
};
