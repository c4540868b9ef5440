import * as tf from '@tensorflow/tfjs-core';
import { type WasmKernelArgs, input, makeFilled, requireChannelsLast } from './wasm-util.js';

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped (TensorFlow's rule). */
function unsortedSegmentSum(args: WasmKernelArgs<{ numSegments: number }>): tf.TensorInfo {
  const { backend, attrs } = args;
  const x = input(args, 'x');
  const ids = input(args, 'segmentIds');
  const idCount = tf.util.sizeFromShape(ids.shape);
  const inner = idCount === 0 ? 0 : tf.util.sizeFromShape(x.shape) / idCount;
  const outShape = [attrs.numSegments, ...x.shape.slice(ids.shape.length)];
  return makeFilled(backend, outShape, x.dtype, [x, ids], (out, xv, idv) => {
    for (let i = 0; i < idCount; i++) {
      const s = idv![i]!;
      if (s < 0 || s >= attrs.numSegments) continue;
      for (let j = 0; j < inner; j++) out[s * inner + j] += xv![i * inner + j]!;
    }
  });
}

interface DepthwiseGradAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
}

type Shape4 = [number, number, number, number];

/**
 * Walks every (output pixel, filter tap) pair of a depthwise convolution whose input pixel is in range:
 * visit(xOffset, dyOffset, filterOffset) with the channel-0 offsets; channel c, multiplier m sit at
 * x + c, dy + c·cm + m, filter + c·cm + m.
 */
function forEachTap(info: tf.backend_util.Conv2DInfo, visit: (xAt: number, dyAt: number, wAt: number) => void): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < OH; r++) {
      for (let c = 0; c < OW; c++) {
        const dyAt = ((b * OH + r) * OW + c) * CO;
        for (let a = 0; a < kh; a++) {
          const i = r * sh - top + a * dh;
          if (i < 0 || i >= H) continue;
          for (let e = 0; e < kw; e++) {
            const j = c * sw - left + e * dw;
            if (j < 0 || j >= W) continue;
            visit(((b * H + i) * W + j) * C, dyAt, (a * kw + e) * CO);
          }
        }
      }
    }
  }
}

function depthwiseConv2dNativeBackpropInput(args: WasmKernelArgs<DepthwiseGradAttrs & { inputShape: Shape4 }>): tf.TensorInfo {
  const { backend, attrs } = args;
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  requireChannelsLast('DepthwiseConv2dNativeBackpropInput', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
  const C = info.inChannels;
  const cm = info.outChannels / C;
  return makeFilled(backend, attrs.inputShape, 'float32', [dy, filter], (dx, dyv, w) => {
    forEachTap(info, (xAt, dyAt, wAt) => {
      for (let ch = 0; ch < C; ch++) {
        let sum = 0;
        for (let m = 0; m < cm; m++) sum += dyv![dyAt + ch * cm + m]! * w![wAt + ch * cm + m]!;
        dx[xAt + ch] += sum;
      }
    });
  });
}

function depthwiseConv2dNativeBackpropFilter(args: WasmKernelArgs<DepthwiseGradAttrs & { filterShape: Shape4 }>): tf.TensorInfo {
  const { backend, attrs } = args;
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  requireChannelsLast('DepthwiseConv2dNativeBackpropFilter', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4, attrs.filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
  const C = info.inChannels;
  const cm = info.outChannels / C;
  return makeFilled(backend, attrs.filterShape, 'float32', [x, dy], (dW, xv, dyv) => {
    forEachTap(info, (xAt, dyAt, wAt) => {
      for (let ch = 0; ch < C; ch++) {
        const xValue = xv![xAt + ch]!;
        for (let m = 0; m < cm; m++) dW[wAt + ch * cm + m] += xValue * dyv![dyAt + ch * cm + m]!;
      }
    });
  });
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as tf.KernelFunc,
};

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as tf.KernelFunc,
};
