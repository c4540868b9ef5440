import * as tf from '@tensorflow/tfjs-core';
import { runJsKernel } from './js-kernel.js';
import { heapAddress, simdKernels } from './simd.js';
import { type WasmKernelArgs, input, makeFilled } from './wasm-util.js';

interface PoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Visits every pooling window: `visit(rowStart, rowEnd, colStart, colEnd, imageBase, dyBase)` with the window's
 * rows and columns inside the image (padding excluded), the flat index of pixel (0, 0) of its image (× C) and
 * of its output gradient. Windows wholly in the padding are skipped.
 */
function forEachWindow(
  xShape: number[],
  attrs: PoolGradAttrs,
  visit: (r0: number, r1: number, c0: number, c1: number, imageBase: number, dyBase: number) => void,
): void {
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < OH; r++) {
      const r0 = Math.max(0, r * sh - top);
      const r1 = Math.min(H, r * sh - top + kh);
      for (let c = 0; c < OW; c++) {
        const c0 = Math.max(0, c * sw - left);
        const c1 = Math.min(W, c * sw - left + kw);
        if (r1 > r0 && c1 > c0) visit(r0, r1, c0, c1, b * H * W * C, ((b * OH + r) * OW + c) * C);
      }
    }
  }
}

/**
 * Routes each output gradient to the first maximum of its window (padding excluded), the cpu backend's and
 * PyTorch's rule. The stock wasm kernel starts its running maximum at 0, so windows whose maximum is ≤ 0
 * send their gradient to the wrong place. Channel counts divisible by 4 run the same walk in WebAssembly SIMD.
 */
function maxPoolGrad(args: WasmKernelArgs<PoolGradAttrs>): tf.TensorInfo {
  const dy = input(args, 'dy');
  const x = input(args, 'input');
  const [batch, H, W, C] = x.shape as [number, number, number, number];
  if (C % 4 === 0) {
    const backend = args.backend;
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number], args.attrs.filterSize, args.attrs.strides, 1, args.attrs.pad, args.attrs.dimRoundingMode);
    const dx = backend.makeOutput(x.shape, 'float32');
    backend.typedArrayFromHeap(dx).fill(0);
    simdKernels(backend).maxPoolGrad(heapAddress(backend, dy), heapAddress(backend, x), heapAddress(backend, dx), batch, H, W, C,
      info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
    return dx;
  }
  const best = new Float32Array(C);
  const at = new Int32Array(C);
  return makeFilled(args.backend, x.shape, 'float32', [dy, x], (dx, dyv, xv) => {
    forEachWindow(x.shape, args.attrs, (r0, r1, c0, c1, imageBase, dyBase) => {
      // The window's first pixel starts each running maximum; channels innermost: contiguous reads.
      const first = imageBase + (r0 * W + c0) * C;
      for (let ch = 0; ch < C; ch++) {
        best[ch] = xv![first + ch]!;
        at[ch] = first + ch;
      }
      for (let i = r0; i < r1; i++) {
        for (let j = i === r0 ? c0 + 1 : c0; j < c1; j++) {
          const base = imageBase + (i * W + j) * C;
          for (let ch = 0; ch < C; ch++) {
            const v = xv![base + ch]!;
            if (v > best[ch]!) {
              best[ch] = v;
              at[ch] = base + ch;
            }
          }
        }
      }
      for (let ch = 0; ch < C; ch++) dx[at[ch]!] += dyv![dyBase + ch]!;
    });
  });
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};

/**
 * The adjoint of tfjs's average pooling, which divides each window by the number of its pixels inside the
 * image (padding excluded). Stock AvgPoolGrad, on both backends, divides by the full window size instead, so
 * with 'same' or numeric padding its gradient at the borders did not match the forward.
 */
function avgPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const dy = args.inputs.dy!;
  const x = args.inputs.input!;
  const [, , W, C] = x.shape as [number, number, number, number];
  const [dx] = runJsKernel(args.backend as tf.KernelBackend, [dy], [x.shape], ([dyv], [dxv]) => {
    forEachWindow(x.shape, args.attrs as PoolGradAttrs, (r0, r1, c0, c1, imageBase, dyBase) => {
      const scale = 1 / ((r1 - r0) * (c1 - c0));
      for (let i = r0; i < r1; i++) {
        for (let j = c0; j < c1; j++) {
          const base = imageBase + (i * W + j) * C;
          for (let ch = 0; ch < C; ch++) dxv![base + ch] += dyv![dyBase + ch]! * scale;
        }
      }
    });
  });
  return dx!;
}

export function avgPoolGradConfig(backendName: string): tf.KernelConfig {
  return { kernelName: tf.AvgPoolGrad, backendName, kernelFunc: avgPoolGrad as unknown as tf.KernelFunc };
}
