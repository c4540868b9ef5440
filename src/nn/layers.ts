import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../io/index.js';
import { Rng } from '../rng/index.js';
import { batchNormTrainingOp, conv2dBiasOp } from '../compute/index.js';
import type { ConvConfig, ConvTransposeConfig, LinearConfig, Ops, PoolConfig } from './arch.js';
import type { ForwardOptions, LinearForward, LinearKind, NonlinearityRule } from './model.js';

/** BatchNorm2d constants (PyTorch defaults, as in every reference model). */
export const BN_MOMENTUM = 0.1;
export const BN_EPS = 1e-5;
/** PyTorch's LeakyReLU default slope, used by the reference's `nn.LeakyReLU()`. */
export const LEAKY_SLOPE = 0.01;

/** The plain rule: every nonlinearity is its ordinary operation, forward and backward. */
export const plainRule: NonlinearityRule = { name: 'plain', apply: (_kind, _name, x, forward) => forward(x) };

/**
 * PyTorch AdaptiveAvgPool's averaging matrix [out, in]: bin i covers [floor(i·in/out), ceil((i+1)·in/out)),
 * which also holds when out > in (bins then overlap and repeat pixels).
 */
export function adaptivePoolMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const start = Math.floor((i * inSize) / outSize);
    const end = Math.ceil(((i + 1) * inSize) / outSize);
    for (let j = start; j < end; j++) m[i * inSize + j] = 1 / (end - start);
  }
  return m;
}

/**
 * Tensors a model computes from its parameters alone (eval mode's merged convolution-BatchNorm weights), kept from
 * one forward pass to the next until a source parameter changes (an assignment gives it a new dataId). Recomputed
 * each pass they were fresh filters every time, and the native backend reorders a filter the first time it sees it:
 * most of a ResNet34 LRP call.
 */
export class DerivedTensors {
  private readonly entries = new Map<string, { sources: object[]; tensors: tf.Tensor[] }>();

  get(key: string, sources: readonly tf.Tensor[], make: () => tf.Tensor[]): tf.Tensor[] {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.sources.every((id, i) => id === sources[i]!.dataId)) return entry.tensors;
    if (entry !== undefined) tf.dispose(entry.tensors);
    // Constants of the pass: no rule differentiates parameters in eval mode.
    const tensors = tf.tidy(() => make()).map((t) => tf.keep(t));
    this.entries.set(key, { sources: sources.map((t) => t.dataId), tensors });
    return tensors;
  }

  dispose(): void {
    for (const entry of this.entries.values()) tf.dispose(entry.tensors);
    this.entries.clear();
  }
}

/** Executes an architecture on tensors: named variables, the nonlinearity rule, taps, BN and dropout modes. */
export class TensorOps implements Ops<tf.Tensor> {
  private readonly rule: NonlinearityRule;
  private readonly training: boolean;

  constructor(private readonly variables: ReadonlyMap<string, tf.Variable>, private readonly options: ForwardOptions = {},
    private readonly derived = new DerivedTensors()) {
    this.rule = options.rule ?? plainRule;
    this.training = options.training ?? false;
  }

  private param(name: string): tf.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`model has no parameter ${name}`);
    return v;
  }

  /** The layer's output as the caller's tap (if any) returns it. */
  private out(name: string, y: tf.Tensor): tf.Tensor {
    const tap = this.options.taps?.[name];
    return tap ? tap(y) : y;
  }

  /** Whether a linear layer ran yet in this pass (the next one is the first, which reads the input). */
  private seenLinear = false;

  /** A linear layer through the rule's `applyLinear`, if it has one. */
  private linearLayer(kind: LinearKind, name: string, x: tf.Tensor, forward: LinearForward): tf.Tensor {
    if (!this.rule.applyLinear) return forward(x);
    const first = !this.seenLinear;
    this.seenLinear = true;
    return this.rule.applyLinear(kind, name, x, forward, first);
  }

  conv2d(name: string, x: tf.Tensor, c: ConvConfig): tf.Tensor {
    const pad = c.padding ? c.padding : 'valid';
    const run: LinearForward = (t, rho = (p) => p, options = {}) => {
      // Dilation > 1 (alexnet-depth) needs the backend layer's Conv2D gradient (tfjs-core's refuses it).
      const filter = rho(this.param(`${name}.weight`)) as tf.Tensor4D;
      if (c.bias && options.bias !== false) return conv2dBiasOp(t as tf.Tensor4D, filter, rho(this.param(`${name}.bias`)), c.stride ?? 1, pad, c.dilation ?? 1);
      return tf.conv2d(t as tf.Tensor4D, filter, c.stride ?? 1, pad, 'NHWC', c.dilation ?? 1);
    };
    return this.out(name, this.linearLayer('conv', name, x, run));
  }

  /**
   * A convolution and the BatchNorm after it. In eval mode they run as one convolution, the BatchNorm merged into it
   * (weights × γ/σ, bias β − μγ/σ; zennit's canonizer): a rule with linear-layer hooks (LRP) sees one linear layer
   * and its ρ acts on the merged weights, and every other pass skips the BatchNorm's own kernels forward and
   * backward (the same function; float32 rounding differs). In training, or where a tap reads the convolution's own
   * output, the two layers run (and are tapped) as usual.
   */
  convBatchNorm(convName: string, bnName: string, x: tf.Tensor, c: ConvConfig, channels: number): tf.Tensor {
    // Unmerged: in training (batch statistics), and where a tap reads the convolution's own output (Grad-CAM's layer).
    if (this.training || this.options.taps?.[convName] !== undefined) return this.batchNorm2d(bnName, this.conv2d(convName, x, c), channels);
    const pad = c.padding ? c.padding : 'valid';
    const names = [`${convName}.weight`, `${bnName}.weight`, `${bnName}.bias`, `${bnName}.running_mean`, `${bnName}.running_var`, ...(c.bias ? [`${convName}.bias`] : [])];
    const [weight, shift] = this.derived.get(`${convName}+${bnName}`, names.map((name) => this.param(name)), () => {
      const [w, gamma, beta, mean, variance, bias] = names.map((name) => this.param(name));
      const scale = tf.div(gamma!, tf.sqrt(tf.add(variance!, BN_EPS)));
      const shifted = tf.sub(beta!, tf.mul(mean!, scale));
      return [tf.mul(w!, scale), bias ? tf.add(shifted, tf.mul(bias, scale)) : shifted]; // HWIO: γ/σ per output channel, the last axis
    }) as [tf.Tensor, tf.Tensor];
    const run: LinearForward = (t, rho = (p) => p, options = {}) => {
      const filter = rho(weight) as tf.Tensor4D;
      if (options.bias === false) return tf.conv2d(t as tf.Tensor4D, filter, c.stride ?? 1, pad, 'NHWC', c.dilation ?? 1);
      return conv2dBiasOp(t as tf.Tensor4D, filter, rho(shift), c.stride ?? 1, pad, c.dilation ?? 1);
    };
    return this.out(bnName, this.linearLayer('conv', convName, x, run));
  }

  convTranspose2d(name: string, x: tf.Tensor, c: ConvTransposeConfig): tf.Tensor {
    const [n, h, w] = x.shape as [number, number, number, number];
    const shape: [number, number, number, number] = [n, (h - 1) * c.stride + c.kernel, (w - 1) * c.stride + c.kernel, c.outChannels];
    let y: tf.Tensor = tf.conv2dTranspose(x as tf.Tensor4D, this.param(`${name}.weight`) as tf.Tensor4D, shape, c.stride, 'valid');
    if (c.bias) y = tf.add(y, this.param(`${name}.bias`));
    return this.out(name, y);
  }

  batchNorm2d(name: string, x: tf.Tensor, channels: number): tf.Tensor {
    const gamma = this.param(`${name}.weight`), beta = this.param(`${name}.bias`);
    const runningMean = this.param(`${name}.running_mean`), runningVar = this.param(`${name}.running_var`);
    // Both paths' gradients are the backend layer's fused BatchNorm kernels.
    if (!this.training) return this.out(name, tf.batchNorm(x, runningMean, runningVar, beta, gamma, BN_EPS));
    const count = x.size / channels;
    if (count < 2) throw new UserError(`${name}: BatchNorm needs more than 1 value per channel in training mode (batch × height × width = ${count})`);
    const { y, mean, variance } = batchNormTrainingOp(x, gamma, beta, BN_EPS);
    // PyTorch: normalise with the biased batch variance, track the unbiased one. Per-channel arithmetic on
    // plain numbers: as tensor ops under a gradient tape it was ~20 recorded kernels and copies per layer.
    const unbiased = count / (count - 1);
    const [m0, v0, batchMean, batchVariance] = [runningMean, runningVar, mean, variance].map((t) => t.dataSync());
    runningMean.assign(tf.tensor(m0!.map((r, c) => (1 - BN_MOMENTUM) * r + BN_MOMENTUM * batchMean![c]!), runningMean.shape, 'float32'));
    runningVar.assign(tf.tensor(v0!.map((r, c) => (1 - BN_MOMENTUM) * r + BN_MOMENTUM * unbiased * batchVariance![c]!), runningVar.shape, 'float32'));
    tf.dispose([mean, variance]);
    const tracked = this.param(`${name}.num_batches_tracked`);
    tracked.assign(tf.scalar(tracked.dataSync()[0]! + 1, 'int32'));
    return this.out(name, y);
  }

  relu(name: string, x: tf.Tensor): tf.Tensor {
    return this.out(name, this.rule.apply('relu', name, x, (t) => tf.relu(t)));
  }

  leakyRelu(name: string, x: tf.Tensor): tf.Tensor {
    return this.out(name, this.rule.apply('leaky_relu', name, x, (t) => tf.leakyRelu(t, LEAKY_SLOPE)));
  }

  maxPool2d(name: string, x: tf.Tensor, c: PoolConfig): tf.Tensor {
    const pad = c.padding ? c.padding : 'valid';
    return this.out(name, this.rule.apply('max_pool', name, x, (t) => tf.maxPool(t as tf.Tensor4D, c.kernel, c.stride, pad)));
  }

  adaptiveAvgPool2d(name: string, x: tf.Tensor, size: number): tf.Tensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    if (h === size && w === size) return this.out(name, x);
    const run: LinearForward = (t) => {
      if (size === 1) return tf.mean(t, [1, 2], true);
      // Rows then columns, each a batched matMul with the averaging matrix.
      const rows = tf.tile(tf.tensor3d(adaptivePoolMatrix(h, size), [1, size, h]), [n, 1, 1]);
      const y = tf.reshape(tf.matMul(rows, tf.reshape(t, [n, h, w * c]) as tf.Tensor3D), [n * size, w, c]) as tf.Tensor3D;
      const cols = tf.tile(tf.tensor3d(adaptivePoolMatrix(w, size), [1, size, w]), [n * size, 1, 1]);
      return tf.reshape(tf.matMul(cols, y), [n, size, size, c]);
    };
    return this.out(name, this.linearLayer('avg_pool', name, x, run));
  }

  dropout(name: string, x: tf.Tensor, p: number): tf.Tensor {
    if (!this.training || p === 0) return this.out(name, x);
    const seed = this.options.dropoutSeed;
    if (seed === undefined) throw new Error('forward in training mode needs options.dropoutSeed (deterministic dropout)');
    const rng = Rng.derive(seed, 'dropout', name);
    const mask = new Float32Array(x.size);
    const scale = 1 / (1 - p);
    for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < p ? 0 : scale;
    return this.out(name, tf.mul(x, tf.tensor(mask, x.shape)));
  }

  linear(name: string, x: tf.Tensor, _c: LinearConfig): tf.Tensor {
    const run: LinearForward = (t, rho = (p) => p, options = {}) => {
      const y = tf.matMul(t as tf.Tensor2D, rho(this.param(`${name}.weight`)) as tf.Tensor2D);
      return options.bias === false ? y : tf.add(y, rho(this.param(`${name}.bias`)));
    };
    return this.out(name, this.linearLayer('linear', name, x, run));
  }

  softmax(name: string, x: tf.Tensor): tf.Tensor {
    return this.out(name, this.rule.apply('softmax', name, x, (t) => tf.softmax(t)));
  }

  flatten(x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, [x.shape[0]!, -1]);
  }

  squeezeSpatial(x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, [x.shape[0]!, x.shape[3]!]);
  }

  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }

  channels(x: tf.Tensor, start: number, count: number): tf.Tensor {
    const [n, h, w] = x.shape as [number, number, number, number];
    return tf.slice(x, [0, 0, 0, start], [n, h, w, count]);
  }

  channelProduct(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    const [n, h, w, c] = a.shape as [number, number, number, number];
    const flatA = tf.reshape(a, [n, h * w, c]) as tf.Tensor3D, flatB = tf.reshape(b, [n, h * w, c]) as tf.Tensor3D;
    return tf.div(tf.matMul(flatA, flatB, true, false), Math.sqrt(c));
  }

  cropTopLeft(x: tf.Tensor, size: number): tf.Tensor {
    const [n, , , c] = x.shape as [number, number, number, number];
    return tf.slice(x, [0, 0, 0, 0], [n, size, size, c]);
  }
}
