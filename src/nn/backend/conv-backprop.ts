import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type WasmKernelArgs,
  disposeIntermediate,
  input,
  makeFilled,
  requireChannelsLast,
  sliceInfo,
  transposeInfo,
  wasmKernel,
} from './wasm-util.js';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Not passed by tfjs-core's gradients (they require 1); honoured when given. */
  dilations?: number | [number, number];
}

/** A forward convolution with stock XNNPACK, explicit non-negative padding. */
function forwardConv(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  strides: [number, number],
  dilations: [number, number],
  pads: { top: number; bottom: number; left: number; right: number },
): tf.TensorInfo {
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [pads.top, pads.bottom], [pads.left, pads.right], [0, 0]];
  return wasmKernel('Conv2D')({ inputs: { x, filter }, backend, attrs: { strides, pad, dilations, dataFormat: 'NHWC' } });
}

/**
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·sh + kh·dh − top, ow·sw + kw·dw − left, ci] · dy[n,oh,ow,co]
 * is a forward convolution of x^T = [ci, H, W, n] (channels as batch) with dy^T = [oh, ow, n, co] as the
 * filter, stride = the forward dilation and dilation = the forward stride; its [ci, kh, kw, co] output is
 * transposed to [kh, kw, ci, co].
 */
function conv2DBackpropFilter(args: WasmKernelArgs<ConvGradAttrs & { filterShape: [number, number, number, number] }>): tf.TensorInfo {
  const { backend, attrs } = args;
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  requireChannelsLast('Conv2DBackpropFilter', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad,
    attrs.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  // Rows the convolution reads: the last output row's window ends at (oh−1)·sh + (kh−1)·dh − top.
  const bottom = (kh - 1) * dh + (info.outHeight - 1) * sh + 1 - info.inHeight - top;
  const right = (kw - 1) * dw + (info.outWidth - 1) * sw + 1 - info.inWidth - left;
  // Trailing rows the forward conv never read (valid padding with a stride) are cropped, not negatively padded.
  const cropped = bottom < 0 || right < 0
    ? sliceInfo(backend, x, [0, 0, 0, 0], [info.batchSize, info.inHeight + Math.min(bottom, 0), info.inWidth + Math.min(right, 0), info.inChannels])
    : x;
  const xT = transposeInfo(backend, cropped, [3, 1, 2, 0]);
  const dyT = transposeInfo(backend, dy, [1, 2, 0, 3]);
  const grad = forwardConv(backend, xT, dyT, [dh, dw], [sh, sw], { top, left, bottom: Math.max(bottom, 0), right: Math.max(right, 0) });
  const dW = transposeInfo(backend, grad, [1, 2, 0, 3]);
  disposeIntermediate(backend, xT, dyT, grad);
  if (cropped !== x) disposeIntermediate(backend, cropped);
  return dW;
}

/**
 * dx is a forward convolution (stride 1, the forward dilation) of the stride-dilated, padded dy with the
 * spatially flipped filter whose in/out channels are swapped. dy's row oh lands at row
 * oh·sh + (kh−1)·dh − top of a zero buffer with H + (kh−1)·dh rows; rows outside it feed no dx.
 */
function conv2DBackpropInput(args: WasmKernelArgs<ConvGradAttrs & { inputShape: [number, number, number, number] }>): tf.TensorInfo {
  const { backend, attrs } = args;
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  requireChannelsLast('Conv2DBackpropInput', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad,
    attrs.dimRoundingMode);
  const { batchSize: n, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow } = info;
  const rowShift = (kh - 1) * dh - info.padInfo.top;
  const colShift = (kw - 1) * dw - info.padInfo.left;
  const padH = info.inHeight + (kh - 1) * dh;
  const padW = info.inWidth + (kw - 1) * dw;

  const spread = makeFilled(backend, [n, padH, padW, co], 'float32', [dy], (out, dyv) => {
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const pr = r * sh + rowShift;
        if (pr < 0 || pr >= padH) continue;
        for (let c = 0; c < ow; c++) {
          const pc = c * sw + colShift;
          if (pc < 0 || pc >= padW) continue;
          const src = ((b * oh + r) * ow + c) * co;
          out.set(dyv!.subarray(src, src + co), ((b * padH + pr) * padW + pc) * co);
        }
      }
    }
  });
  const flipped = makeFilled(backend, [kh, kw, co, ci], 'float32', [filter], (out, w) => {
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const src = ((kh - 1 - a) * kw + (kw - 1 - b)) * ci * co;
        const dst = (a * kw + b) * co * ci;
        for (let i = 0; i < ci; i++) {
          for (let o = 0; o < co; o++) out[dst + o * ci + i] = w![src + i * co + o]!;
        }
      }
    }
  });
  const dx = forwardConv(backend, spread, flipped, [1, 1], [dh, dw], { top: 0, bottom: 0, left: 0, right: 0 });
  disposeIntermediate(backend, spread, flipped);
  return dx;
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
