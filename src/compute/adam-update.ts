import * as tf from '@tensorflow/tfjs-core';
import { isWasm, runJsKernel } from './js-kernel.js';
import { heapAddress, simdKernels } from './simd.js';

/**
 * One Adam step for one parameter as a kernel: in TypeScript, ~10 ns a parameter (14 ms a step for ResNet34
 * at width 0.25), on wasm a SIMD pass. Inputs value, grad, m, v; outputs the new value, m and v.
 */
export const ADAM_UPDATE = 'FivebandAdamUpdate';

/** The step's scalars: stepSize = lr / (1 − β₁ᵗ), sqrtBias2 = √(1 − β₂ᵗ). */
export interface AdamCoefficients {
  beta1: number;
  beta2: number;
  weightDecay: number;
  stepSize: number;
  sqrtBias2: number;
  eps: number;
}

function adamUpdate(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: AdamCoefficients }): tf.TensorInfo[] {
  const { value, grad, m, v } = args.inputs as Record<'value' | 'grad' | 'm' | 'v', tf.TensorInfo>;
  const { beta1, beta2, weightDecay, stepSize, sqrtBias2, eps } = args.attrs;
  const backend = args.backend;
  const n = tf.util.sizeFromShape(value.shape);
  for (const info of [grad, m, v]) {
    if (tf.util.sizeFromShape(info.shape) !== n) throw new Error(`adamUpdate: value, grad, m and v must have the same size (${n})`);
  }
  if (isWasm(backend)) {
    const outputs = [0, 1, 2].map(() => backend.makeOutput(value.shape, 'float32'));
    const [p, g, m0, v0, p1, m1, v1] = [value, grad, m, v, ...outputs].map((info) => heapAddress(backend, info)) as number[];
    simdKernels(backend).adamUpdate(p!, g!, m0!, v0!, p1!, m1!, v1!, n, beta1, beta2, weightDecay, stepSize, sqrtBias2, eps);
    return outputs;
  }
  return runJsKernel(backend, [value, grad, m, v], [value.shape, value.shape, value.shape], ([pv, gv, mv, vv], [p1, m1, v1]) => {
    for (let i = 0; i < n; i++) {
      const gi = gv![i]! + weightDecay * pv![i]!;
      m1![i] = beta1 * mv![i]! + (1 - beta1) * gi;
      v1![i] = beta2 * vv![i]! + (1 - beta2) * gi * gi;
      p1![i] = pv![i]! - (stepSize * m1![i]!) / (Math.sqrt(v1![i]!) / sqrtBias2 + eps);
    }
  }, true);
}

export const adamUpdateKernelConfigs = (backendName: string): tf.KernelConfig[] => [
  { kernelName: ADAM_UPDATE, backendName, kernelFunc: adamUpdate as unknown as tf.KernelFunc },
];

/** The new value, m and v of one parameter (float32 tensors of the value's shape). */
export function adamUpdateOp(value: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, coefficients: AdamCoefficients): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(ADAM_UPDATE, { value, grad, m, v } as unknown as tf.NamedTensorMap,
    coefficients as unknown as tf.NamedAttrMap) as [tf.Tensor, tf.Tensor, tf.Tensor];
}
