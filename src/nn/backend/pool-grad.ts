import * as tf from '@tensorflow/tfjs-core';
import { type WasmKernelArgs, input, makeFilled } from './wasm-util.js';

interface PoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Routes each output gradient to the first maximum of its window (padding excluded), the cpu backend's and
 * PyTorch's rule. The stock wasm kernel starts its running maximum at 0, so windows whose maximum is ≤ 0
 * send their gradient to the wrong place.
 */
function maxPoolGrad(args: WasmKernelArgs<PoolGradAttrs>): tf.TensorInfo {
  const { backend, attrs } = args;
  const dy = input(args, 'dy');
  const x = input(args, 'input');
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  return makeFilled(backend, x.shape, 'float32', [dy, x], (dx, dyv, xv) => {
    for (let b = 0; b < batchSize; b++) {
      for (let r = 0; r < OH; r++) {
        const r0 = Math.max(0, r * sh - top);
        const r1 = Math.min(H, r * sh - top + kh);
        for (let c = 0; c < OW; c++) {
          const c0 = Math.max(0, c * sw - left);
          const c1 = Math.min(W, c * sw - left + kw);
          const dyBase = ((b * OH + r) * OW + c) * C;
          for (let ch = 0; ch < C; ch++) {
            let best = Number.NEGATIVE_INFINITY;
            let at = -1;
            for (let i = r0; i < r1; i++) {
              for (let j = c0; j < c1; j++) {
                const k = ((b * H + i) * W + j) * C + ch;
                if (xv![k]! > best) {
                  best = xv![k]!;
                  at = k;
                }
              }
            }
            if (at >= 0) dx[at] += dyv![dyBase + ch]!;
          }
        }
      }
    }
  });
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
