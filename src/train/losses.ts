import * as tf from '@tensorflow/tfjs-core';

/** Mean softmax cross-entropy of logits [..., C] against integer class labels [...] (torch CrossEntropyLoss). */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.shape.length - 1]!;
    const oneHot = tf.oneHot(tf.cast(tf.reshape(labels, [-1]), 'int32'), classes);
    const logProb = tf.logSoftmax(tf.reshape(logits, [-1, classes]));
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProb), 1))) as tf.Scalar;
  });
}

export interface MabLoss {
  total: tf.Scalar;
  ce: tf.Scalar;
  mab: tf.Scalar;
}

/**
 * The mabCAM joint loss (spec §4.2): CE over the class logits + λ · CE over the three band classes at every
 * pixel of the (already cropped) heatmap logits [n, N, N, 3], averaged over batch and pixels.
 */
export function mabLoss(logits: tf.Tensor2D, heatmapLogits: tf.Tensor4D, labels: tf.Tensor1D, bands: tf.Tensor3D, lambda: number): MabLoss {
  const ce = crossEntropy(logits, labels);
  const mab = crossEntropy(heatmapLogits, bands);
  const total = tf.tidy(() => tf.add(ce, tf.mul(mab, lambda)) as tf.Scalar);
  return { total, ce, mab };
}
