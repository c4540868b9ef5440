import * as tf from '@tensorflow/tfjs-core';
import { batchNormTrainingOp } from './batch-norm.js';
import { deepLiftMaxPoolOp } from './deeplift-max-pool.js';
import { deepLiftRescaleOp } from './deeplift-rescale.js';
import { stabilisedDivideOp } from './stabilised-divide.js';

/**
 * A few kernels of the active backend against the same ops on the cpu backend, on small awkward shapes (odd
 * sizes, strides, padding, dilation, transposes, channel counts not divisible by 4). Runs a forward and a
 * gradient through convolution, a comparison mask, BatchNorm (training and eval), pooling, a transpose and matrix
 * products, then DeepLift's two rule kernels and LRP's ratio: every native kernel is exercised.
 * Returns the first mismatch, or null.
 */
export async function compareWithCpu(setBackend: (name: string) => Promise<void>, name: string): Promise<string | null> {
  const run = () => tf.tidy(() => {
    let state = 12345;
    const random = (shape: number[]) => {
      const v = new Float32Array(tf.util.sizeFromShape(shape));
      for (let i = 0; i < v.length; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        v[i] = (state / 2 ** 32) * 2 - 1;
      }
      return tf.tensor(v, shape);
    };
    const x = random([2, 9, 7, 5]);
    const w1 = random([3, 3, 5, 6]), w2 = random([3, 2, 6, 3]), gamma = random([3]), beta = random([3]);
    const dense = random([4, 6]), probe = random([2, 5]);
    const loss = (input: tf.Tensor, a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => {
      const c1 = tf.relu(tf.conv2d(input as tf.Tensor4D, a as tf.Tensor4D, 2, 'same'));
      const gated = tf.where(tf.greater(c1, 0.1), c1, tf.mul(c1, 0.5)) as tf.Tensor4D;
      const c2 = tf.conv2d(gated, b as tf.Tensor4D, 1, [[0, 0], [1, 0], [0, 1], [0, 0]], 'NHWC', [2, 1]);
      const { y } = batchNormTrainingOp(c2, gamma, beta, 1e-5);
      const fixed = tf.batchNorm(y as tf.Tensor4D, beta, tf.add(tf.abs(gamma), 0.5), beta, gamma, 1e-3); // eval mode
      const pooled = tf.avgPool(tf.maxPool(fixed as tf.Tensor4D, 2, 1, 'same'), 2, 2, 'valid');
      const logits = tf.matMul(tf.reshape(tf.transpose(pooled, [0, 2, 1, 3]), [2, 6]), d, false, true);
      return tf.sum(tf.square(tf.matMul(logits, probe, true, false)));
    };
    const { value, grads } = tf.valueAndGrads(loss)([x, w1, w2, dense]);
    // x's two rows as an input and its reference; 2 × 2 windows of stride 2 over 9 × 7.
    const windows = { rowStart: Int32Array.of(0, 2, 4, 6), rowEnd: Int32Array.of(1, 3, 5, 7), colStart: Int32Array.of(0, 2, 4), colEnd: Int32Array.of(1, 3, 5) };
    const rescaled = deepLiftRescaleOp(random(x.shape), x, tf.leakyRelu(x, 0.1), 1e-10, { slope: 0.1 });
    const pooled = deepLiftMaxPoolOp(random([2, 4, 3, 5]), x, tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), windows, 1e-10);
    const ratio = stabilisedDivideOp(random(x.shape), tf.mul(x, tf.greater(x, 0.5)), 1e-3); // zeros take +ε
    return [value, ...grads, rescaled, pooled, ratio].map((t) => t.dataSync().slice() as Float32Array);
  });
  await setBackend('cpu');
  const expected = run();
  await setBackend(name);
  const actual = run();
  const labels = ['loss', 'd input', 'd filter 1', 'd filter 2 (dilated)', 'd dense', 'DeepLift rescale', 'DeepLift max-pool', 'LRP stabilised divide'];
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!, a = actual[i]!;
    let scale = 0, diff = 0;
    for (let j = 0; j < e.length; j++) {
      scale = Math.max(scale, Math.abs(e[j]!));
      diff = Math.max(diff, Math.abs(e[j]! - a[j]!));
    }
    if (!(diff <= 1e-4 * Math.max(scale, 1))) return `${labels[i]} differs from the cpu backend by ${diff.toExponential(2)} (scale ${scale.toExponential(2)})`;
  }
  return null;
}
