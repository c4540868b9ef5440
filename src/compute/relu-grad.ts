import * as tf from '@tensorflow/tfjs-core';
import { isWasm, runJsKernel } from './js-kernel.js';
import { heapAddress, simdKernels } from './simd.js';

/**
 * The ReLU gradient as one kernel, dx = x > 0 ? dy : 0 (0 at 0, as tfjs-core and PyTorch). tfjs-core's
 * gradient is three (step, cast, multiply), each a full pass over the activations.
 */
export const RELU_GRAD = 'FivebandReluGrad';

function reluGrad(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend }): tf.TensorInfo {
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const backend = args.backend;
  if (isWasm(backend)) {
    const dx = backend.makeOutput(x.shape, 'float32');
    simdKernels(backend).reluGrad(heapAddress(backend, dy), heapAddress(backend, x), heapAddress(backend, dx), tf.util.sizeFromShape(x.shape));
    return dx;
  }
  const [dx] = runJsKernel(backend, [dy, x], [x.shape], ([dyv, xv], [dxv]) => {
    for (let i = 0; i < xv!.length; i++) dxv![i] = xv![i]! > 0 ? dyv![i]! : 0;
  }, true);
  return dx!;
}

export const reluGradKernelConfigs = (backendName: string): tf.KernelConfig[] => [
  { kernelName: RELU_GRAD, backendName, kernelFunc: reluGrad as unknown as tf.KernelFunc },
];

/** dx = x > 0 ? dy : 0 as one kernel. */
export function reluGradOp(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(RELU_GRAD, { dy, x } as unknown as tf.NamedTensorMap) as tf.Tensor;
}

/** Replaces tfjs-core's Relu gradient. */
export const reluGradConfig: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => reluGradOp(dy as tf.Tensor, x) };
  },
};
