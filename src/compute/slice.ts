import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm'; // registers the stock kernel captured below
import { type WasmKernelArgs, input } from './wasm-util.js';

/**
 * Slice on wasm. Stock tfjs-backend-wasm 4.22 copies a non-contiguous region one innermost row at a time with
 * `set(subarray(...))`, allocating a typed-array view per row: for a channel slice or a crop of an NHWC tensor the
 * rows are a few elements long and the views dominate (SPA's heatmap crop and channel halves). Here the trailing
 * axes that the slice takes whole are merged into one contiguous run per position of the outer axes, and short
 * runs are copied element by element.
 */
interface SliceAttrs {
  begin: number | number[];
  size?: number | number[];
}

/** Stock's kernel, kept before the patch replaces it: contiguous slices (one copy) and strings stay stock. */
const stockConfig = tf.getKernel(tf.Slice, 'wasm');
if (stockConfig === undefined) throw new Error('tfjs-backend-wasm registered no Slice kernel');
const stock = stockConfig.kernelFunc as unknown as (args: WasmKernelArgs<SliceAttrs>) => tf.TensorInfo;

/** Runs at least this long are copied with set(subarray()); shorter ones by a plain loop. */
const MIN_BULK_RUN = 64;

function slice(args: WasmKernelArgs<SliceAttrs>): tf.TensorInfo {
  const { backend, attrs } = args;
  const x = input(args, 'x');
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, attrs.begin, attrs.size);
  if (x.dtype === 'string' || tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    return stock(args);
  }
  const rank = x.shape.length;
  // Axis `inner`: the innermost axis not taken whole; everything after it is contiguous within a run.
  let inner = rank - 1;
  while (inner > 0 && size[inner] === x.shape[inner]) inner--;
  const strides = tf.util.computeStrides(x.shape);
  const innerStride = inner === rank - 1 ? 1 : strides[inner]!;
  const run = size[inner]! * innerStride;
  const out = backend.makeOutput(size, x.dtype);
  const source = backend.typedArrayFromHeap(x);
  const target = backend.typedArrayFromHeap(out);
  // Odometer over the outer axes 0 … inner − 1.
  const position = begin.slice(0, inner);
  const runs = tf.util.sizeFromShape(size.slice(0, inner));
  let written = 0;
  for (let r = 0; r < runs; r++) {
    let from = begin[inner]! * innerStride;
    for (let d = 0; d < inner; d++) from += position[d]! * strides[d]!;
    if (run >= MIN_BULK_RUN) {
      target.set(source.subarray(from, from + run), written);
    } else {
      for (let i = 0; i < run; i++) target[written + i] = source[from + i]!;
    }
    written += run;
    for (let d = inner - 1; d >= 0; d--) {
      if (++position[d]! < begin[d]! + size[d]!) break;
      position[d] = begin[d]!;
    }
  }
  return out;
}

export const sliceConfig: tf.KernelConfig = {
  kernelName: tf.Slice,
  backendName: 'wasm',
  kernelFunc: slice as unknown as tf.KernelFunc,
};
