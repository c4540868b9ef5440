import * as tf from '@tensorflow/tfjs-core';
import type { NonlinearityKind, NonlinearityRule } from '../nn/index.js';
import { deepLiftMaxPoolOp, deepLiftRescaleOp, reluGradOp, type PoolGeometry } from '../compute/index.js';
import { readTidy } from './common.js';

/**
 * Nonlinearity rules: how ReLU, LeakyReLU, max-pooling and softmax behave in the backward pass.
 * The forward value is always the plain operation; only gradients change. They restate Captum 0.5's hooks:
 * Guided Backprop and Deconvolution override the gradients of `nn.ReLU` modules only (LeakyReLU, max-pool
 * and softmax keep their plain gradients); DeepLift's rescale rule covers every kind here, because Captum
 * hooks nn.ReLU, nn.LeakyReLU, nn.MaxPool2d and nn.Softmax alike.
 */

/** Replaces a ReLU's backward pass by `backward(dy, x)`; other kinds stay plain. */
function reluOverride(name: string, backward: (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor): NonlinearityRule {
  return {
    name,
    apply(kind, _layer, x, forward) {
      if (kind !== 'relu') return forward(x);
      const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
        const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
        save([input]);
        return { value: forward(input), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, saved[0]!) };
      });
      return op(x);
    },
  };
}

/** Captum GuidedBackprop: ReLU of the ReLU's own input gradient, relu(dy · 1[x > 0]). */
export const guidedBackpropRule = reluOverride('guided', (dy, x) => tf.relu(reluGradOp(dy, x)));

/** Captum Deconvolution: ReLU of the output gradient, relu(dy), whatever the sign of the ReLU's input. */
export const deconvolutionRule = reluOverride('deconvolution', (dy) => tf.relu(dy));

/** Captum's threshold below which |input − reference| counts as no change (then the plain gradient is kept). */
export const DEEPLIFT_EPS = 1e-10;

/**
 * Captum's DeepLift rescale rule. The model runs on one batch [inputs; references] (the second half holds
 * each row's reference), so every nonlinearity sees both halves: its multiplier is Δout / Δin
 * (same for both halves), or its plain gradient where |Δin| < eps.
 * - ReLU / LeakyReLU: grad = dy · Δout / Δin.
 * - Softmax (over the last axis): the same, then minus the sum of the whole per-call gradient tensor over
 *   its element count, as Captum does. Captum sums over everything it was called with; the reference calls it
 *   with one sample at a time (DeepLiftShap: one sample × its k baselines), so here the sum runs per sample
 *   group (`groups` = samples in this batch), giving batch-independent results equal to the reference's.
 * - Max-pool: Captum's cross-maximum rule with PyTorch's max_unpool2d semantics (the
 *   FivebandDeepLiftMaxPool kernel).
 */
export class DeepLiftRescaleRule implements NonlinearityRule {
  readonly name = 'deeplift';
  private readonly geometries = new Map<string, PoolGeometry>();

  /** `groups`: how many original samples the batch holds (each with the same number of rows per half). */
  constructor(private readonly groups: number, private readonly eps = DEEPLIFT_EPS) {}

  apply(kind: NonlinearityKind, name: string, x: tf.Tensor4D | tf.Tensor2D, forward: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const value = forward(input);
      save([input, value]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [inp, out] = [saved[0]!, saved[1]!];
          switch (kind) {
            case 'relu':
            case 'leaky_relu':
              return this.rescale(dy, inp, out, forward);
            case 'softmax':
              return this.softmax(dy, inp, out);
            case 'max_pool':
              return this.maxPool(name, dy, inp, out, forward);
          }
        },
      };
    });
    return op(x);
  }

  private rescale(dy: tf.Tensor, inp: tf.Tensor, out: tf.Tensor, forward: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    // Plain gradient of ReLU / LeakyReLU, as PyTorch: 1 where x > 0, else the negative slope (= −f(−1)).
    const slope = -readTidy(() => forward(tf.scalar(-1)))[0]!;
    return deepLiftRescaleOp(dy, inp, out, this.eps, { slope });
  }

  private softmax(dy: tf.Tensor, inp: tf.Tensor, out: tf.Tensor): tf.Tensor {
    const lastAxis = inp.rank - 1;
    const plain = tf.mul(out, tf.sub(dy, tf.sum(tf.mul(dy, out), lastAxis, true)));
    const unnormalised = deepLiftRescaleOp(dy, inp, out, this.eps, plain);
    const grouped = tf.reshape(unnormalised, [2, this.groups, -1]);
    const perGroupCount = 2 * grouped.shape[2]!;
    const normalised = tf.sub(grouped, tf.div(tf.sum(grouped, [0, 2], true), perGroupCount));
    return tf.reshape(normalised, inp.shape);
  }

  /** Captum's max-pool rule (the FivebandDeepLiftMaxPool kernel, compute/deeplift-max-pool.ts, says how). */
  private maxPool(name: string, dy: tf.Tensor, inp: tf.Tensor, out: tf.Tensor, forward: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    const [, height, width] = inp.shape as [number, number, number, number];
    return deepLiftMaxPoolOp(dy, inp, out, this.poolGeometry(name, height, width, forward), this.eps);
  }

  /** The window of every output row and column, found by pooling a ramp and a negated ramp. */
  private poolGeometry(name: string, height: number, width: number, forward: (t: tf.Tensor) => tf.Tensor): PoolGeometry {
    const key = `${name}:${height}x${width}`;
    let geometry = this.geometries.get(key);
    if (!geometry) {
      geometry = probePoolGeometry(height, width, forward);
      this.geometries.set(key, geometry);
    }
    return geometry;
  }
}

/**
 * Recovers the pooling windows from the operation itself: on a ramp 1..H·W (row-major) each window's
 * maximum is its bottom-right cell, on the negated ramp its top-left cell. Works for any kernel, stride and
 * (−∞) padding without the model having to describe them.
 */
export function probePoolGeometry(height: number, width: number, forward: (t: tf.Tensor) => tf.Tensor): PoolGeometry {
  const ramp = (sign: number) => forward(tf.reshape(tf.range(sign, sign * (height * width + 1), sign, 'float32'), [1, height, width, 1]));
  const hi = tf.tidy(() => ramp(1));
  const [outHeight, outWidth] = [hi.shape[1]!, hi.shape[2]!];
  const last = hi.dataSync();
  hi.dispose();
  const first = readTidy(() => ramp(-1));
  const geometry: PoolGeometry = {
    rowStart: new Int32Array(outHeight), rowEnd: new Int32Array(outHeight),
    colStart: new Int32Array(outWidth), colEnd: new Int32Array(outWidth),
  };
  for (let oh = 0; oh < outHeight; oh++) {
    geometry.rowEnd[oh] = Math.floor((last[oh * outWidth]! - 1) / width);
    geometry.rowStart[oh] = Math.floor((-first[oh * outWidth]! - 1) / width);
  }
  for (let ow = 0; ow < outWidth; ow++) {
    geometry.colEnd[ow] = (last[ow]! - 1) % width;
    geometry.colStart[ow] = (-first[ow]! - 1) % width;
  }
  return geometry;
}
