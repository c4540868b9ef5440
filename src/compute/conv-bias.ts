import * as tf from '@tensorflow/tfjs-core';
import { conv2DGradConfig } from './dilated-conv-grad.js';

/**
 * A convolution and its bias as one kernel, NHWC: conv2d(x, filter) + bias. On the native backend oneDNN adds the bias
 * inside the convolution, which saves a pass over every convolution's output (the models' biased convolutions, and
 * every convolution with a BatchNorm merged into it). The other backends keep the two ops (their values stay as they
 * were); the cpu backend has the kernel too, as the native one's fallback and the tests' reference.
 */
export const CONV2D_BIAS = 'FivebandConv2DBias';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

/** The cpu kernel: tfjs-backend-cpu's fused convolution with a linear activation. */
function cpuConvBias(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const fused = tf.getKernel('FusedConv2D', 'cpu');
  if (fused === undefined) throw new Error('tfjs-backend-cpu registered no FusedConv2D kernel');
  return fused.kernelFunc({ ...args, attrs: { ...args.attrs, activation: 'linear' } } as never) as tf.TensorInfo;
}

export const convBiasKernelConfigs = (backendName: string): tf.KernelConfig[] => [
  { kernelName: CONV2D_BIAS, backendName, kernelFunc: cpuConvBias as unknown as tf.KernelFunc },
];

/** The gradient: the convolution's (dilations included) for x and the filter, Σ dy over batch and space for the bias. */
export const convBiasGradConfig: tf.GradConfig = {
  kernelName: CONV2D_BIAS,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => ({
    ...conv2DGradConfig.gradFunc(dy, saved, attrs),
    bias: () => tf.sum(dy as tf.Tensor, [0, 1, 2]),
  }),
};

/** conv2d(x, filter) + bias (NHWC): one kernel on the native backend, the two ops on the others. */
export function conv2dBiasOp(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, strides: number, pad: Pad, dilations: number): tf.Tensor4D {
  if (tf.getBackend() !== 'native') return tf.add(tf.conv2d(x, filter, strides, pad as never, 'NHWC', dilations), bias);
  return tf.engine().runKernel(CONV2D_BIAS, { x, filter, bias } as unknown as tf.NamedTensorMap,
    { strides, pad, dataFormat: 'NHWC', dilations } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
