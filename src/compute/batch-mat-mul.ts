import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm'; // registers the stock kernel captured below
import { heapAddress, simdKernels } from './simd.js';
import { type WasmKernelArgs, disposeIntermediate, input } from './wasm-util.js';

/**
 * Stock tfjs-backend-wasm 4.22 BatchMatMul sends only one case to XNNPACK's fully-connected GEMM: a batch of 1
 * with neither transposeA nor transposeB (`xnn_matmul` in batch_mat_mul_impl.cc; b is the packed "weights",
 * whose packed operator is cached on b's tensor id). Every other case (any transpose flag, any batch > 1) runs
 * `slow_batch_matmul`, a scalar triple loop with strided reads, about 10-20× slower. Training hits it in every
 * dense layer: dW = xᵀ·dy (transposeA) and dx = dy·Wᵀ (transposeB).
 *
 * The patch computes each product as that fast case: either C = op(A)·op(B) directly or Cᵀ = op(B)ᵀ·op(A)ᵀ,
 * with explicit (SIMD) transposes of whichever operands are stored the wrong way, choosing the cheaper form:
 * transposes plus XNNPACK's packing of the weights operand, which dominates when that operand is new. A dense
 * layer's forward x·W in training is the case: packing VGG16's fc1 weights every step took ~150 ms where
 * Cᵀ = Wᵀ·xᵀ packs the 16 rows of x instead. Batched products run that per (broadcast) batch element.
 * Products too small to pay for the extra kernel calls stay stock.
 */
interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

type MatMul = (args: WasmKernelArgs<BatchMatMulAttrs>) => tf.TensorInfo;

/** Stock's kernel, kept before the patch replaces it: it is the fast case, and the fallback. */
const stockConfig = tf.getKernel(tf.BatchMatMul, 'wasm');
if (stockConfig === undefined) throw new Error('tfjs-backend-wasm registered no BatchMatMul kernel');
const stock = stockConfig.kernelFunc as unknown as MatMul;

/**
 * Below this many multiply-adds per matrix product, stock's loop is as fast as the transposes and kernel calls
 * (about 0.3 ms of overhead per product, timed on the dev machine).
 */
const MIN_WORK_PER_PRODUCT = 256 * 1024;

/** A view of `info`'s memory under another shape (same element count); never disposed itself. */
function view(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/**
 * Relative costs per element, timed on the dev machine: XNNPACK packing a weights operand (~24 ns an element,
 * redone for every new weights tensor: in training every step) against the SIMD transpose.
 */
const PACK_COST = 16;
const TRANSPOSE_COST = 1;

/**
 * Data ids that have been the weights operand of a product before. The stock kernel keeps a packed copy of
 * its weights keyed by their tensor, so a tensor multiplied again (inference weights: attribution runs many
 * forward passes) is cheap to use as weights from its second product on; a fresh one (training weights,
 * new every step) pays the packing in full.
 */
const usedAsWeights = new WeakSet<object>();

/** The packing cost of `info` as the weights operand; records the use. */
function packCost(info: tf.TensorInfo, elements: number): number {
  const seen = usedAsWeights.has(info.dataId);
  usedAsWeights.add(info.dataId);
  return seen ? 0 : PACK_COST * elements;
}

/** x [rows, cols] → a new [cols, rows] tensor (SIMD, on the heap). */
function transpose2D(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  const [rows, cols] = x.shape as [number, number];
  const out = backend.makeOutput([cols, rows], 'float32');
  simdKernels(backend).transpose2d(heapAddress(backend, x), heapAddress(backend, out), rows, cols);
  return out;
}

/**
 * A·B for 2-D stored operands: `a` is [M,K] or, with `transposeA`, stored [K,M]; `b` is [K,N] or, with
 * `transposeB`, stored [N,K]. Returns a new [M,N] tensor.
 */
function matMul2D(
  backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean,
  m: number, k: number, n: number,
): tf.TensorInfo {
  const plain = (x: tf.TensorInfo, y: tf.TensorInfo) => stock({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } });
  // Transposes of operands stored the wrong way, XNNPACK packing the weights (the second operand), the output transpose.
  const directCost = (transposeA ? TRANSPOSE_COST * m * k : 0) + (transposeB ? (TRANSPOSE_COST + PACK_COST) * k * n : packCost(b, k * n));
  const swappedCost = (transposeB ? 0 : TRANSPOSE_COST * k * n) + (transposeA ? packCost(a, k * m) : (TRANSPOSE_COST + PACK_COST) * k * m)
    + TRANSPOSE_COST * m * n;
  if (directCost <= swappedCost) {
    const x = transposeA ? transpose2D(backend, a) : a;
    const y = transposeB ? transpose2D(backend, b) : b;
    const out = plain(x, y);
    if (x !== a) disposeIntermediate(backend, x);
    if (y !== b) disposeIntermediate(backend, y);
    return out;
  }
  // Cᵀ [N,M] = op(B)ᵀ [N,K] · op(A)ᵀ [K,M].
  const x = transposeB ? b : transpose2D(backend, b);
  const y = transposeA ? a : transpose2D(backend, a);
  const outT = plain(x, y);
  if (x !== b) disposeIntermediate(backend, x);
  if (y !== a) disposeIntermediate(backend, y);
  const out = transpose2D(backend, outT);
  disposeIntermediate(backend, outT);
  return out;
}

/** Batch element `index` of a [batch, rows, cols] tensor's memory, copied into a new [rows, cols] tensor. */
function batchElement(backend: BackendWasm, x: tf.TensorInfo, index: number, rows: number, cols: number): tf.TensorInfo {
  const out = backend.makeOutput([rows, cols], 'float32');
  const size = rows * cols;
  const source = backend.typedArrayFromHeap(x);
  backend.typedArrayFromHeap(out).set(source.subarray(index * size, (index + 1) * size));
  return out;
}

function batchMatMul(args: WasmKernelArgs<BatchMatMulAttrs>): tf.TensorInfo {
  const { backend, attrs } = args;
  const a = input(args, 'a');
  const b = input(args, 'b');
  const { transposeA, transposeB } = attrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
  const rankA = a.shape.length;
  const rankB = b.shape.length;
  const [rowsA, colsA] = [a.shape[rankA - 2]!, a.shape[rankA - 1]!];
  const [rowsB, colsB] = [b.shape[rankB - 2]!, b.shape[rankB - 1]!];
  const m = transposeA ? colsA : rowsA;
  const k = transposeA ? rowsA : colsA;
  const n = transposeB ? rowsB : colsB;
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB);
  const batch = tf.util.sizeFromShape(batchShape);
  // Shape errors (stock's messages) and products too small to gain stay stock.
  if (k !== (transposeB ? colsB : rowsB) || m * n * k < MIN_WORK_PER_PRODUCT) {
    return stock(args);
  }
  const outShape = [...batchShape, m, n];
  if (batch === 1) {
    const out = matMul2D(backend, view(a, [rowsA, colsA]), view(b, [rowsB, colsB]), transposeA, transposeB, m, k, n);
    out.shape = outShape;
    return out;
  }
  const out = backend.makeOutput(outShape, 'float32');
  const outStrides = tf.util.computeStrides(batchShape);
  for (let i = 0; i < batch; i++) {
    const loc = batchShape.length > 1 ? tf.util.indexToLoc(i, batchShape.length, outStrides) : [i];
    const ai = batchElement(backend, a, broadcastIndex(loc, batchShapeA), rowsA, colsA);
    const bi = batchElement(backend, b, broadcastIndex(loc, batchShapeB), rowsB, colsB);
    const ci = matMul2D(backend, ai, bi, transposeA, transposeB, m, k, n);
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(ci), i * m * n);
    disposeIntermediate(backend, ai, bi, ci);
  }
  return out;
}

/** The flat batch index in an operand with batch dims `shape` (right-aligned, size-1 dims broadcast) of output batch position `loc`. */
function broadcastIndex(loc: number[], shape: number[]): number {
  let index = 0;
  const offset = loc.length - shape.length;
  for (let d = 0; d < shape.length; d++) index = index * shape[d]! + (shape[d] === 1 ? 0 : loc[d + offset]!);
  return index;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  // Binds stock's wasm function, which the patch calls (stock's own setup does not run while it is unregistered).
  setupFunc: stockConfig.setupFunc,
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
