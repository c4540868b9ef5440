import * as tf from '@tensorflow/tfjs-core';
import { runJsKernel } from './js-kernel.js';

/**
 * LRP's ratio as one kernel: a / (b + ε·sign(b)), sign(0) = +1 (b ≥ 0 takes +ε; NaN takes −ε and stays NaN), each
 * step rounded to float32 as the tfjs ops round it. As ops (compare, two fills, select, add, divide) the ratio cost
 * six passes over a layer's activations, and the cpu backend's select ran in JavaScript: ~30 % of an LRP call on VGG16
 * at 224.
 */
export const STABILISED_DIVIDE = 'FivebandStabilisedDivide';

function stabilisedDivide(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: { eps: number } }): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new Error(`stabilisedDivide: shapes differ, ${a.shape} and ${b.shape}`);
  const eps = Math.fround(args.attrs.eps);
  const [out] = runJsKernel(args.backend, [a, b], [a.shape], ([av, bv], [ov]) => {
    for (let i = 0; i < av!.length; i++) ov![i] = av![i]! / Math.fround(bv![i]! + (bv![i]! >= 0 ? eps : -eps));
  }, true);
  return out!;
}

export const stabilisedDivideKernelConfigs = (backendName: string): tf.KernelConfig[] => [
  { kernelName: STABILISED_DIVIDE, backendName, kernelFunc: stabilisedDivide as unknown as tf.KernelFunc },
];

/** a / (b + ε·sign(b)) with sign(0) = +1, elementwise over tensors of one shape (no gradient: LRP holds it constant). */
export function stabilisedDivideOp(a: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  return tf.engine().runKernel(STABILISED_DIVIDE, { a, b } as unknown as tf.NamedTensorMap, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
