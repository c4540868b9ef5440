import * as tf from '@tensorflow/tfjs-core';
import { runJsKernel } from './js-kernel.js';

/**
 * DeepLift's rescale rule for one nonlinearity as one kernel. The batch holds two halves, inputs then their
 * references (row k and row k + half are partners). With Δin = x − x_ref and Δout = y − y_ref of each partner pair
 * (the same for both halves), every element's gradient is dy · Δout / Δin, or the plain gradient where |Δin| < eps.
 * The plain gradient is the `plain` input when given (softmax), else ReLU's / LeakyReLU's: dy · (x > 0 ? 1 : slope).
 * Composed from tfjs ops the rule took ~15 kernels (splits, concats, masks, selects) per layer; here it is one pass,
 * each step rounded to float32 as those ops round, so the values are the same.
 */
export const DEEPLIFT_RESCALE = 'FivebandDeepLiftRescale';

interface RescaleAttrs {
  slope: number;
  eps: number;
}

function deepLiftRescale(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: RescaleAttrs }): tf.TensorInfo {
  const { dy, x, y, plain } = args.inputs as Record<'dy' | 'x' | 'y', tf.TensorInfo> & { plain?: tf.TensorInfo };
  const size = tf.util.sizeFromShape(x.shape);
  if (x.shape[0]! % 2 !== 0) throw new Error(`deepLiftRescale: the batch must hold inputs and references (even rows), got ${x.shape[0]}`);
  for (const info of [dy, y, plain]) {
    if (info !== undefined && tf.util.sizeFromShape(info.shape) !== size) throw new Error('deepLiftRescale: dy, x, y and plain must have the same size');
  }
  const slope = Math.fround(args.attrs.slope), eps = Math.fround(args.attrs.eps);
  const inputs = plain === undefined ? [dy, x, y] : [dy, x, y, plain];
  const [out] = runJsKernel(args.backend, inputs, [x.shape], ([dyv, xv, yv, pv], [gv]) => {
    const half = size / 2;
    const element = (k: number, dIn: number, dOut: number) => {
      if (Math.abs(dIn) < eps) gv![k] = pv === undefined ? dyv![k]! * (xv![k]! > 0 ? 1 : slope) : pv[k]!;
      else gv![k] = Math.fround(dyv![k]! * dOut) / dIn;
    };
    for (let i = 0; i < half; i++) {
      const dIn = Math.fround(xv![i]! - xv![i + half]!);
      const dOut = Math.fround(yv![i]! - yv![i + half]!);
      element(i, dIn, dOut);
      element(i + half, dIn, dOut);
    }
  }, true);
  return out!;
}

export const deepLiftRescaleKernelConfigs = (backendName: string): tf.KernelConfig[] => [
  { kernelName: DEEPLIFT_RESCALE, backendName, kernelFunc: deepLiftRescale as unknown as tf.KernelFunc },
];

/**
 * The rescaled gradient of a nonlinearity whose input `x` and output `y` hold inputs then references; `plain`
 * replaces the ReLU plain gradient with slope `slope` (ReLU 0, LeakyReLU its negative slope).
 */
export function deepLiftRescaleOp(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, eps: number, plain: tf.Tensor | { slope: number }): tf.Tensor {
  const inputs = plain instanceof tf.Tensor ? { dy, x, y, plain } : { dy, x, y };
  const slope = plain instanceof tf.Tensor ? 0 : plain.slope;
  return tf.engine().runKernel(DEEPLIFT_RESCALE, inputs as unknown as tf.NamedTensorMap, { slope, eps } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
