import * as tf from '@tensorflow/tfjs-core';
import { conv2DGradConfig } from './dilated-conv-grad.js';

/** Sums a broadcast gradient back to the shape of the input it belongs to. */
function sumToShape(g: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, g.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
}

/** tfjs-core's Maximum/Minimum gradients (same tie rule), which forget to undo broadcasting. */
function extremumGrad(kernelName: string, aWins: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const g = dy as tf.Tensor;
      return {
        a: () => sumToShape(tf.mul(g, tf.cast(aWins(a, b), 'float32')), a.shape),
        b: () => sumToShape(tf.mul(g, tf.cast(tf.logicalNot(aWins(a, b)), 'float32')), b.shape),
      };
    },
  };
}

/** tfjs-core's Cumsum gradient transposes its result although the cumsum op no longer permutes axes. */
const cumsumGrad: tf.GradConfig = {
  kernelName: tf.Cumsum,
  gradFunc: (dy, _saved, attrs) => {
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    return { x: () => tf.cumsum(dy as tf.Tensor, axis, exclusive, !reverse) };
  },
};

/**
 * Comparisons and logical ops are piecewise constant: zero gradient, as tfjs-core already defines for
 * GreaterEqual (the others are missing, so a mask computed inside a differentiated function threw).
 */
const zeroGrads: tf.GradConfig[] = [tf.Greater, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual, tf.LogicalAnd, tf.LogicalOr].map((kernelName) => ({
  kernelName,
  inputsToSave: ['a', 'b'],
  gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => ({ a: () => tf.zerosLike(saved[0]!), b: () => tf.zerosLike(saved[1]!) }),
}));

const logicalNotGrad: tf.GradConfig = {
  kernelName: tf.LogicalNot,
  inputsToSave: ['x'],
  gradFunc: (_dy, saved) => ({ x: () => tf.zerosLike(saved[0]!) }),
};

/** Corrections and additions to tfjs-core 4.22's gradient definitions (registered after them). */
export const GRADIENT_FIXES: readonly tf.GradConfig[] = [
  conv2DGradConfig,
  extremumGrad(tf.Maximum, tf.greaterEqual),
  extremumGrad(tf.Minimum, tf.lessEqual),
  cumsumGrad,
  ...zeroGrads,
  logicalNotGrad,
];
