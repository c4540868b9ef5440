import * as tf from '@tensorflow/tfjs-core';
import type { NonlinearityKind, NonlinearityRule } from '../nn/index.js';
import { deepLiftRescaleOp } from '../compute/index.js';
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
export const guidedBackpropRule = reluOverride('guided', (dy, x) => tf.relu(tf.mul(dy, tf.cast(tf.greater(x, 0), 'float32'))));

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
 * - Max-pool: Captum's cross-maximum rule with PyTorch's max_unpool2d semantics (see `maxPoolGrad`).
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

  /**
   * Captum's max-pool rule, computed on the CPU: with y = pool(x), yr = pool(r) and m = max(y, yr),
   * U = unpool_x(dy_x · (m − yr)) + unpool_r(dy_r · (y − m)), grad = U / Δin for both halves (plain max-pool
   * gradient where |Δin| < eps). unpool is PyTorch's max_unpool2d: each window writes its value at its
   * argmax (first maximum in row-major window order, as max_pool2d picks it) by assignment, so when two
   * overlapping windows share an argmax the later window (raster order) wins — Captum inherits this.
   */
  private maxPool(name: string, dy: tf.Tensor, inp: tf.Tensor, out: tf.Tensor, forward: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    const [rows, height, width, channels] = inp.shape as [number, number, number, number];
    const [, outHeight, outWidth] = out.shape as [number, number, number, number];
    const geometry = this.poolGeometry(name, height, width, forward);
    const grad = maxPoolGrad(
      inp.dataSync() as Float32Array, out.dataSync() as Float32Array, dy.dataSync() as Float32Array,
      { rows, height, width, channels, outHeight, outWidth }, geometry, this.eps,
    );
    return tf.tensor4d(grad, [rows, height, width, channels]);
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

/** Inclusive input row / column ranges of each output row / column of a 2-D max-pool. */
export interface PoolGeometry {
  rowStart: Int32Array;
  rowEnd: Int32Array;
  colStart: Int32Array;
  colEnd: Int32Array;
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

export interface PoolShape {
  rows: number;
  height: number;
  width: number;
  channels: number;
  outHeight: number;
  outWidth: number;
}

/**
 * DeepLift's max-pool gradient (see DeepLiftRescaleRule.maxPool) on NHWC arrays whose rows are
 * [inputs; references]. Arithmetic is rounded to float32 after every operation, like PyTorch's.
 */
export function maxPoolGrad(
  input: Float32Array, output: Float32Array, dy: Float32Array, s: PoolShape, g: PoolGeometry, eps: number,
): Float32Array {
  const half = s.rows / 2;
  const plane = s.height * s.width * s.channels;
  const outPlane = s.outHeight * s.outWidth * s.channels;
  const f = Math.fround;
  const threshold = f(eps); // PyTorch compares in float32
  const argmax = new Int32Array(s.rows * outPlane);
  for (let row = 0; row < s.rows; row++) {
    for (let oh = 0; oh < s.outHeight; oh++) {
      for (let ow = 0; ow < s.outWidth; ow++) {
        for (let c = 0; c < s.channels; c++) {
          let best = -Infinity;
          let bestIndex = (g.rowStart[oh]! * s.width + g.colStart[ow]!) * s.channels + c;
          for (let h = g.rowStart[oh]!; h <= g.rowEnd[oh]!; h++) {
            for (let w = g.colStart[ow]!; w <= g.colEnd[ow]!; w++) {
              const index = (h * s.width + w) * s.channels + c;
              const v = input[row * plane + index]!;
              if (v > best || Number.isNaN(v)) {
                best = v;
                bestIndex = index;
                if (Number.isNaN(v)) break;
              }
            }
          }
          argmax[row * outPlane + (oh * s.outWidth + ow) * s.channels + c] = bestIndex;
        }
      }
    }
  }
  const grad = new Float32Array(s.rows * plane);
  const unpooled = new Float32Array(plane);
  const unpooledRef = new Float32Array(plane);
  const plainX = new Float32Array(plane);
  const plainR = new Float32Array(plane);
  for (let i = 0; i < half; i++) {
    const [xRow, rRow] = [i, half + i];
    unpooled.fill(0);
    unpooledRef.fill(0);
    plainX.fill(0);
    plainR.fill(0);
    // Raster order over outputs: a later window overwrites an earlier one at a shared argmax (assignment).
    for (let o = 0; o < outPlane; o++) {
      const y = output[xRow * outPlane + o]!;
      const yr = output[rRow * outPlane + o]!;
      const m = Math.max(y, yr);
      const gx = dy[xRow * outPlane + o]!;
      const gr = dy[rRow * outPlane + o]!;
      const ax = argmax[xRow * outPlane + o]!;
      const ar = argmax[rRow * outPlane + o]!;
      unpooled[ax] = f(gx * f(m - yr));
      unpooledRef[ar] = f(gr * f(y - m));
      plainX[ax] = f(plainX[ax]! + gx);
      plainR[ar] = f(plainR[ar]! + gr);
    }
    for (let p = 0; p < plane; p++) {
      const dIn = f(input[xRow * plane + p]! - input[rRow * plane + p]!);
      const small = Math.abs(dIn) < threshold;
      const multiplier = f(f(unpooled[p]! + unpooledRef[p]!) / dIn);
      grad[xRow * plane + p] = small ? plainX[p]! : multiplier;
      grad[rRow * plane + p] = small ? plainR[p]! : multiplier;
    }
  }
  return grad;
}
