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
 * The input gradient along one axis, split by stride phase: dx row i, with φ = (i + padBefore) mod s and
 * Q = ⌊(i + padBefore) / s⌋, receives dy rows Q − m·d through taps k = φ + m·s (m < taps, k < kernel).
 * Over Q = first … first + count − 1 that is a stride-1 correlation of dy, zero-padded by `before` rows to
 * `length` rows, with the phase's flipped taps.
 */
interface AxisPlan {
  stride: number;
  taps: number;
  first: number;
  count: number;
  before: number;
  length: number;
  padBefore: number;
}

function planAxis(inSize: number, kernel: number, stride: number, dilation: number, padBefore: number): AxisPlan {
  if (stride > 1 && dilation > 1) throw new Error('Conv2DBackpropInput: strides and dilations cannot both exceed 1');
  const taps = Math.ceil(kernel / stride);
  const first = Math.floor(padBefore / stride);
  const count = Math.floor((inSize - 1 + padBefore) / stride) - first + 1;
  const before = (taps - 1) * dilation - first;
  return { stride, taps, first, count, before, length: count + (taps - 1) * dilation, padBefore };
}

/**
 * dx as one forward convolution ("sub-pixel" form): dy, shifted and zero-padded, convolved (stride 1, the
 * forward dilation) with the flipped filter split into its stride phases, which are stacked along the output
 * channels (s_h·s_w·c_in of them); the phases are then interleaved into dx's rows and columns. This skips the
 * multiplications by the zeros of a stride-dilated dy and keeps the GEMM wide even for 3-channel inputs.
 * With stride 1 the convolution's output is dx itself.
 */
function conv2DBackpropInput(args: WasmKernelArgs<ConvGradAttrs & { inputShape: [number, number, number, number] }>): tf.TensorInfo {
  const { backend, attrs } = args;
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  requireChannelsLast('Conv2DBackpropInput', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad,
    attrs.dimRoundingMode);
  const { batchSize: n, inHeight: H, inWidth: W, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow } = info;
  const rows = planAxis(H, kh, sh, dh, info.padInfo.top);
  const cols = planAxis(W, kw, sw, dw, info.padInfo.left);
  const phases = sh * sw;

  // dy sits inside the shifted map with zeros around it (the usual case): the convolution's own padding does
  // that without a copy.
  const pads = { top: rows.before, bottom: rows.length - rows.before - oh, left: cols.before, right: cols.length - cols.before - ow };
  const padsOnly = pads.top >= 0 && pads.bottom >= 0 && pads.left >= 0 && pads.right >= 0;
  const shifted = padsOnly ? dy : makeFilled(backend, [n, rows.length, cols.length, co], 'float32', [dy], (out, dyv) => {
    const c0 = Math.max(0, -cols.before);
    const c1 = Math.min(ow, cols.length - cols.before);
    if (c1 <= c0) return;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const pr = r + rows.before;
        if (pr < 0 || pr >= rows.length) continue;
        const src = ((b * oh + r) * ow + c0) * co;
        out.set(dyv!.subarray(src, src + (c1 - c0) * co), ((b * rows.length + pr) * cols.length + c0 + cols.before) * co);
      }
    }
  });
  const stacked = makeFilled(backend, [rows.taps, cols.taps, co, phases * ci], 'float32', [filter], (out, w) => {
    for (let a = 0; a < rows.taps; a++) {
      for (let e = 0; e < cols.taps; e++) {
        for (let pr = 0; pr < sh; pr++) {
          const k = pr + (rows.taps - 1 - a) * sh;
          if (k >= kh) continue;
          for (let pc = 0; pc < sw; pc++) {
            const l = pc + (cols.taps - 1 - e) * sw;
            if (l >= kw) continue;
            const src = (k * kw + l) * ci * co;
            const dst = (a * cols.taps + e) * co * phases * ci + (pr * sw + pc) * ci;
            for (let o = 0; o < co; o++) {
              for (let i = 0; i < ci; i++) out[dst + o * phases * ci + i] = w![src + i * co + o]!;
            }
          }
        }
      }
    }
  });
  const conv = forwardConv(backend, shifted, stacked, [1, 1], [dh, dw], padsOnly ? pads : { top: 0, bottom: 0, left: 0, right: 0 });
  disposeIntermediate(backend, stacked);
  if (shifted !== dy) disposeIntermediate(backend, shifted);
  if (phases === 1 && rows.count === H && cols.count === W) return conv;

  const dx = makeFilled(backend, [n, H, W, ci], 'float32', [conv], (out, part) => {
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < rows.count; t++) {
        for (let pr = 0; pr < sh; pr++) {
          const i = sh * (rows.first + t) + pr - rows.padBefore;
          if (i < 0 || i >= H) continue;
          for (let u = 0; u < cols.count; u++) {
            const src = ((b * rows.count + t) * cols.count + u) * phases * ci + pr * sw * ci;
            for (let pc = 0; pc < sw; pc++) {
              const j = sw * (cols.first + u) + pc - cols.padBefore;
              if (j < 0 || j >= W) continue;
              const dst = ((b * H + i) * W + j) * ci;
              const from = src + pc * ci;
              for (let k = 0; k < ci; k++) out[dst + k] = part![from + k]!;
            }
          }
        }
      }
    }
  });
  disposeIntermediate(backend, conv);
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
