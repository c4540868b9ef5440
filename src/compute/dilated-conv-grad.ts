import * as tf from '@tensorflow/tfjs-core';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

/**
 * The filter of a dilated convolution with zeros inserted between its taps: a dilation-1 convolution with it
 * equals the dilated one (same padding too, since tfjs pads by the effective filter size).
 */
function spreadFilter(filter: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const holes = tf.pad(tf.reshape(filter, [kh, 1, kw, 1, ci, co]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
  return tf.slice(tf.reshape(holes, [kh * dh, kw * dw, ci, co]), 0, [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]) as tf.Tensor4D;
}

type Shape4 = [number, number, number, number];
type Strides = [number, number] | number;

function backpropInput(inputShape: Shape4, dy: tf.Tensor4D, filter: tf.Tensor4D, strides: Strides, pad: Pad, dataFormat: string): tf.Tensor4D {
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { strides, pad, dataFormat, inputShape } as never) as tf.Tensor4D;
}

function backpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, strides: Strides, pad: Pad, dataFormat: string): tf.Tensor4D {
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides, pad, dataFormat, filterShape } as never) as tf.Tensor4D;
}

/**
 * tfjs-core's Conv2D gradient, extended to dilations > 1 (tfjs-core refuses them; the AlexNet depth variant
 * needs them) through the zero-spread filter, using only standard kernels so every backend computes it.
 */
export const conv2DGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, dataFormat, dilations } = attrs as unknown as { strides: Strides; pad: Pad; dataFormat: string; dilations?: Strides };
    const [dh, dw] = dilations === undefined ? [1, 1] : typeof dilations === 'number' ? [dilations, dilations] : dilations;
    const g = dy as tf.Tensor4D;
    if (dh === 1 && dw === 1) {
      return {
        x: () => backpropInput(x.shape, g, filter, strides, pad, dataFormat),
        filter: () => backpropFilter(x, g, filter.shape, strides, pad, dataFormat),
      };
    }
    const [kh, kw, ci, co] = filter.shape;
    return {
      x: () => backpropInput(x.shape, g, spreadFilter(filter, dh, dw), strides, pad, dataFormat),
      filter: () => {
        const full = backpropFilter(x, g, [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co], strides, pad, dataFormat);
        return tf.stridedSlice(full, [0, 0, 0, 0], full.shape, [dh, dw, 1, 1]);
      },
    };
  },
};
